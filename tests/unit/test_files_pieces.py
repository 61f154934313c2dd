"""The files screen's pure parts: the tree source, the fuzzy find, what a binary file says."""

from __future__ import annotations

from datetime import UTC, datetime

from caged_core.models import FileEntry, GitFileStatus
from caged_tui.screens.files import fuzzy
from caged_tui.screens.files.describe import hex_dump, kind_of, language_of, looks_binary
from caged_tui.screens.files.tree import LOADING, TreeSource, human_size

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def entry(path: str, kind: str = "file", size: int = 1) -> FileEntry:
    return FileEntry(name=path.rsplit("/", 1)[-1], path=path, type=kind, size=size, mod_time=NOW)


def names(source: TreeSource) -> list[str]:
    return [row.cells[0][0] for row in source.rows(0, source.row_count)]


def test_folders_load_lazily_with_a_placeholder_and_keep_their_rows() -> None:
    source = TreeSource(NOW)
    assert source.open("/workspace")
    assert [row.key for row in source.rows(0, 9)] == ["/workspace" + LOADING]
    source.loaded(
        "/workspace",
        [entry("/workspace/src", "directory"), entry("/workspace/.env"), entry("/workspace/a")],
    )
    assert names(source) == ["▸ src/", "  a"]  # .env hidden
    assert source.open("/workspace/src")  # must be listed first
    assert names(source)[1].strip() == "loading…"
    assert not source.open("/workspace/src")  # already on its way: no second worker
    source.loaded("/workspace/src", [entry("/workspace/src/app.py")])
    assert names(source) == ["▾ src/", "    app.py", "  a"]
    assert source.index_of("/workspace/a") == 2
    source.set_hidden(True)
    assert "  .env" in names(source)
    source.close("/workspace/src")
    assert source.row_count == 3  # src, .env, a
    # A listing that lost an entry forgets it (and what was below it).
    source.loaded("/workspace", [entry("/workspace/a")])
    assert source.entry("/workspace/src/app.py") is None


def test_git_statuses_propagate_to_folders_strongest_first() -> None:
    source = TreeSource(NOW)
    changed = source.set_git(
        [
            GitFileStatus(path="/workspace/src/a.py", status="untracked"),
            GitFileStatus(path="/workspace/src/deep/b.py", status="modified"),
            GitFileStatus(path="/workspace/build", status="ignored"),
        ]
    )
    assert source.git_status("/workspace/src") == "modified"
    assert source.git_status("/workspace/src/deep") == "modified"
    assert source.git_status("/workspace/build") == "ignored"
    assert "/workspace/src" in changed
    assert source.set_git(None) == changed  # not a repository: every status goes


def test_fuzzy_prefers_the_base_name_and_word_starts() -> None:
    paths = [
        "/workspace/docs/readme.md",
        "/workspace/src/reader/main.py",
        "/workspace/r/e/a/d/m/e.txt",
        "/workspace/src/app.py",
    ]
    assert fuzzy.find(paths, "readme")[0] == "/workspace/docs/readme.md"
    assert fuzzy.find(paths, "app") == ["/workspace/src/app.py"]
    assert fuzzy.find(paths, "zzz") == []
    assert fuzzy.find(paths, "") == paths
    assert fuzzy.find(paths, "R M") == fuzzy.find(paths, "rm")  # spaces and case do not matter


def test_binary_descriptions() -> None:
    assert kind_of("x.bin", b"\x89PNG\r\n\x1a\nrest") == "PNG image"
    assert kind_of("archive.tar.gz", b"\x1f\x8b\x08") == "gzip archive"
    assert kind_of("notes.pdf", b"??") == "application/pdf"
    assert kind_of("blob", b"\x00\x01") == "binary data"
    assert hex_dump(b"AB\x00") == "00000000  41 42 00                 |AB.|"
    assert looks_binary("ok\ufffd") and not looks_binary("plain text\n\ttabbed")
    assert language_of("/w/a.PY") == "python" and language_of("/w/Makefile") is None
    assert human_size(999) == "999 B" and human_size(20_480) == "20.5 KB"
