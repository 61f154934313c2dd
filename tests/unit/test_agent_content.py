"""The in-cage agent's memory of file contents: each change says what it changed
(issue 15: a file_op carries its unified diff, or sizes and hashes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from caged_platform.runtime.agent import DIFF_CAP, ContentMemory


def describe(memory: ContentMemory, root: Path, name: str, kind: str, dest: str = "") -> dict:
    real_dest = str(root / dest) if dest else None
    return memory.describe(str(root / name), kind, f"/workspace/{name}", real_dest)


def test_a_modified_text_file_gives_its_unified_diff(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("one\ntwo\n")
    memory = ContentMemory()
    memory.scan(str(tmp_path))
    (tmp_path / "notes.txt").write_text("one\n2\n")
    facts = describe(memory, tmp_path, "notes.txt", "modified")
    assert facts == {
        "diff": "--- a/workspace/notes.txt\n+++ b/workspace/notes.txt\n"
        "@@ -1,2 +1,2 @@\n one\n-two\n+2\n"
    }
    # The new content is remembered: the next change is diffed against it.
    (tmp_path / "notes.txt").write_text("one\n2\nthree\n")
    assert describe(memory, tmp_path, "notes.txt", "modified")["diff"].endswith(" 2\n+three\n")


def test_created_and_deleted_text_files_diff_against_nothing(tmp_path: Path) -> None:
    memory = ContentMemory()
    (tmp_path / "new.py").write_text("x = 1\n")
    created = describe(memory, tmp_path, "new.py", "created")["diff"]
    assert created.startswith("--- /dev/null\n+++ b/workspace/new.py\n") and "+x = 1\n" in created
    (tmp_path / "new.py").unlink()
    deleted = describe(memory, tmp_path, "new.py", "deleted")["diff"]
    assert deleted.startswith("--- a/workspace/new.py\n+++ /dev/null\n") and "-x = 1\n" in deleted


def test_binary_and_big_changes_give_sizes_and_hashes(tmp_path: Path) -> None:
    memory = ContentMemory()
    blob = tmp_path / "image.bin"
    blob.write_bytes(b"\x00\x01" * 10)
    memory.scan(str(tmp_path))
    blob.write_bytes(b"\x00\x02" * 30)
    assert describe(memory, tmp_path, "image.bin", "modified") == {
        "size_before": 20,
        "sha256_before": hashlib.sha256(b"\x00\x01" * 10).hexdigest(),
        "size_after": 60,
        "sha256_after": hashlib.sha256(b"\x00\x02" * 30).hexdigest(),
    }
    text = tmp_path / "long.txt"
    text.write_text("")
    memory.scan(str(tmp_path))
    text.write_text("line\n" * (DIFF_CAP // 4))  # a diff past the cap
    facts = describe(memory, tmp_path, "long.txt", "modified")
    assert "diff" not in facts and facts["size_after"] == 5 * (DIFF_CAP // 4)


def test_a_change_of_a_file_never_seen_before_says_only_what_it_is_now(tmp_path: Path) -> None:
    memory = ContentMemory()  # no scan: the file's earlier content is unknown
    (tmp_path / "old.txt").write_text("now\n")
    facts = describe(memory, tmp_path, "old.txt", "modified")
    assert facts == {"size_after": 4, "sha256_after": hashlib.sha256(b"now\n").hexdigest()}


def test_a_move_carries_the_content_to_the_new_name(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("same\n")
    memory = ContentMemory()
    memory.scan(str(tmp_path))
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    assert describe(memory, tmp_path, "a.txt", "moved", dest="b.txt") == {}
    (tmp_path / "b.txt").write_text("changed\n")
    assert "+changed\n" in describe(memory, tmp_path, "b.txt", "modified")["diff"]


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s\n")
    (tmp_path / "link").symlink_to(tmp_path / "secret")
    memory = ContentMemory()
    assert describe(memory, tmp_path, "link", "created") == {}
