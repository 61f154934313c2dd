"""caged_platform.content.files: confinement, listing, reading, writing and search."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from caged_core.models import FileType
from caged_platform.content import files
from caged_platform.content.content_errors import (
    InvalidInput,
    NotFound,
    PathRefused,
    TooLarge,
)

# --------------------------------------------------------------------------- confinement


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "../outside/secret.txt",
        "/etc/passwd",
        "/workspace/../..",
        "/workspace/../workspace/a.txt",
        "a/../../b",
        "/",
        "/workspacex/a",
        "/tmp",
    ],
)
def test_paths_leaving_the_workspace_are_refused(workspace: Path, path: str) -> None:
    with pytest.raises(PathRefused):
        files.resolve(workspace, path)
    with pytest.raises(PathRefused):
        files.read_text(workspace, path)
    with pytest.raises(PathRefused):
        files.write_text(workspace, path, "x")
    assert (workspace.parent / "outside" / "secret.txt").read_text() == "host secret\n"


def test_nul_byte_is_invalid_input(workspace: Path) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        files.read_text(workspace, "a\x00b")
    with pytest.raises(InvalidInput):
        files.write_text(workspace, "/workspace/a\x00", "x")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.txt", "a.txt"),
        ("d/not-yet.txt", "d/not-yet.txt"),
        ("/workspace/a.txt", "a.txt"),
        ("./d/../a.txt", "a.txt"),
        ("/workspace/d/./e/", "d/e"),
        ("/workspace", ""),
        (".", ""),
        ("", ""),
    ],
)
def test_accepted_paths_resolve_inside(workspace: Path, path: str, expected: str) -> None:
    (workspace / "d" / "e").mkdir(parents=True)
    assert files.resolve(workspace, path) == workspace.joinpath(
        *expected.split("/") if expected else []
    )


def test_workspace_path_is_canonical() -> None:
    assert files.workspace_path("src//a.py") == "/workspace/src/a.py"
    assert files.workspace_path("/workspace/x/../y") == "/workspace/y"
    assert files.workspace_path(".") == "/workspace"


def test_symlink_to_etc_is_refused_for_every_operation(workspace: Path) -> None:
    (workspace / "etc").symlink_to("/etc")
    (workspace / "passwd").symlink_to("/etc/passwd")
    for path in ("etc/passwd", "passwd", "/workspace/etc/hostname"):
        with pytest.raises(PathRefused, match="outside /workspace"):
            files.read_text(workspace, path)
    with pytest.raises(PathRefused):
        files.write_text(workspace, "passwd", "pwned")
    with pytest.raises(PathRefused):
        files.write_text(workspace, "etc/caged-test-file", "pwned")
    with pytest.raises(PathRefused):
        files.list_dir(workspace, "etc")
    assert not Path("/etc/caged-test-file").exists()


def test_relative_symlink_out_of_the_workspace_is_refused(workspace: Path) -> None:
    (workspace / "up").symlink_to("../outside")
    with pytest.raises(PathRefused):
        files.read_text(workspace, "up/secret.txt")
    with pytest.raises(PathRefused):
        files.write_text(workspace, "up/secret.txt", "overwritten")
    assert (workspace.parent / "outside" / "secret.txt").read_text() == "host secret\n"


def test_symlink_chain_escaping_through_directories_is_refused(workspace: Path) -> None:
    (workspace / "d1").mkdir()
    (workspace / "d1" / "d2").mkdir()
    # d1/d2/hop -> ../../.. climbs out only after two hops of a chain.
    (workspace / "d1" / "d2" / "hop").symlink_to("../../..")
    (workspace / "first").symlink_to("d1/d2/hop")
    with pytest.raises(PathRefused, match="leads out"):
        files.read_text(workspace, "first/outside/secret.txt")
    with pytest.raises(PathRefused):
        files.write_text(workspace, "first/outside/new.txt", "x")
    assert not (workspace.parent / "outside" / "new.txt").exists()


def test_absolute_symlink_in_the_cage_namespace_stays_inside(workspace: Path) -> None:
    (workspace / "real").mkdir()
    (workspace / "real" / "f.txt").write_text("inside\n")
    (workspace / "abs").symlink_to("/workspace/real")
    assert files.read_text(workspace, "abs/f.txt") == "inside\n"
    assert files.resolve(workspace, "abs/f.txt") == workspace / "real" / "f.txt"


def test_symlink_inside_pointing_inside_is_followed(workspace: Path) -> None:
    (workspace / "sub").mkdir()
    (workspace / "sub" / "target.txt").write_text("target\n")
    (workspace / "link.txt").symlink_to("sub/target.txt")
    (workspace / "sub" / "back").symlink_to("..")
    assert files.read_text(workspace, "link.txt") == "target\n"
    assert files.read_text(workspace, "sub/back/sub/target.txt") == "target\n"
    files.write_text(workspace, "link.txt", "through the link\n")
    assert (workspace / "link.txt").is_symlink()
    assert (workspace / "sub" / "target.txt").read_text() == "through the link\n"


def test_symlink_loop_is_refused(workspace: Path) -> None:
    (workspace / "a").symlink_to("b")
    (workspace / "b").symlink_to("a")
    with pytest.raises(PathRefused, match="too many"):
        files.read_text(workspace, "a")


def test_missing_workspace_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        files.list_dir(tmp_path / "gone")


# --------------------------------------------------------------------------- listing


def test_list_dir_shapes_and_order(workspace: Path) -> None:
    (workspace / "zeta").mkdir()
    (workspace / "Alpha").mkdir()
    (workspace / "b.txt").write_text("12345")
    (workspace / "a.txt").write_text("1")
    (workspace / "to-dir").symlink_to("zeta")
    (workspace / "to-etc").symlink_to("/etc")
    entries = files.list_dir(workspace, "/workspace")
    assert [e.name for e in entries] == ["Alpha", "to-dir", "zeta", "a.txt", "b.txt", "to-etc"]
    by_name = {e.name: e for e in entries}
    assert by_name["b.txt"].type == FileType.FILE
    assert by_name["b.txt"].size == 5
    assert by_name["b.txt"].path == "/workspace/b.txt"
    assert by_name["b.txt"].mod_time is not None
    assert by_name["b.txt"].mod_time.tzinfo is not None
    assert by_name["zeta"].type == FileType.DIRECTORY
    assert by_name["to-dir"].type == FileType.DIRECTORY
    # A link out is listed as an empty file: its target is never stat'ed.
    assert (by_name["to-etc"].type, by_name["to-etc"].size) == (FileType.FILE, 0)
    dumped = by_name["zeta"].model_dump(mode="json")
    assert set(dumped) == {"name", "path", "type", "size", "mod_time"}
    assert dumped["type"] == "directory"


def test_list_subdirectory_paths_follow_the_request(workspace: Path) -> None:
    (workspace / "src" / "pkg").mkdir(parents=True)
    (workspace / "src" / "pkg" / "m.py").write_text("")
    entries = files.list_dir(workspace, "src/pkg")
    assert [(e.name, e.path) for e in entries] == [("m.py", "/workspace/src/pkg/m.py")]
    assert files.list_dir(workspace, "/workspace/src")[0].path == "/workspace/src/pkg"


def test_list_dir_errors(workspace: Path) -> None:
    (workspace / "f.txt").write_text("x")
    with pytest.raises(NotFound):
        files.list_dir(workspace, "nope")
    with pytest.raises(InvalidInput, match="not a directory"):
        files.list_dir(workspace, "f.txt")
    assert files.list_dir(workspace) == files.list_dir(workspace, ".")


# --------------------------------------------------------------------------- reading


def test_read_text_limit(workspace: Path) -> None:
    (workspace / "exact.txt").write_bytes(b"x" * files.READ_LIMIT)
    (workspace / "over.txt").write_bytes(b"x" * (files.READ_LIMIT + 1))
    assert len(files.read_text(workspace, "exact.txt")) == files.READ_LIMIT
    with pytest.raises(TooLarge, match="1,000,001 bytes"):
        files.read_text(workspace, "over.txt")
    with pytest.raises(TooLarge):
        files.read_text(workspace, "exact.txt", limit=10)


def test_read_binary_is_replaced_not_refused(workspace: Path) -> None:
    (workspace / "bin").write_bytes(b"ok\xff\xfe\x00end")
    assert files.read_text(workspace, "bin") == "ok\ufffd\ufffd\x00end"


def test_read_errors(workspace: Path) -> None:
    (workspace / "d").mkdir()
    os.mkfifo(workspace / "fifo")
    with pytest.raises(NotFound, match=r"/workspace/missing\.txt does not exist"):
        files.read_text(workspace, "missing.txt")
    with pytest.raises(InvalidInput, match="is a directory"):
        files.read_text(workspace, "d")
    with pytest.raises(InvalidInput, match="is a directory"):
        files.read_text(workspace, "/workspace")
    with pytest.raises(InvalidInput, match="not a regular file"):
        files.read_text(workspace, "fifo")  # and does not hang
    with pytest.raises(NotFound):
        files.read_text(workspace, "missing-dir/x")


# --------------------------------------------------------------------------- writing


def test_write_creates_parents_and_round_trips(workspace: Path) -> None:
    written = files.write_text(workspace, "/workspace/deep/er/f.txt", "héllo\n")
    assert written == len("héllo\n".encode())
    assert (workspace / "deep" / "er" / "f.txt").read_text() == "héllo\n"
    assert files.read_text(workspace, "deep/er/f.txt") == "héllo\n"


def test_write_is_atomic_and_keeps_mode(workspace: Path) -> None:
    target = workspace / "run.sh"
    target.write_text("old\n")
    target.chmod(0o750)
    before = target.stat().st_ino
    files.write_text(workspace, "run.sh", "new\n")
    assert target.read_text() == "new\n"
    # A new inode: the content was renamed into place, never rewritten in place.
    assert target.stat().st_ino != before
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert [p.name for p in workspace.iterdir()] == ["run.sh"]  # no temp file left


def test_write_failure_leaves_no_temp_file(workspace: Path) -> None:
    (workspace / "d").mkdir()
    with pytest.raises(InvalidInput):
        files.write_text(workspace, "d", "x")
    with pytest.raises(InvalidInput):
        files.write_text(workspace, "bad.txt", "\udcff")
    assert sorted(p.name for p in workspace.iterdir()) == ["d"]


def test_write_as_root_gives_new_entries_the_directory_owner(workspace: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to own files as another user")
    os.chown(workspace, 4321, 4321)
    files.write_text(workspace, "new/dir/f.txt", "x")
    for path in ("new", "new/dir", "new/dir/f.txt"):
        assert (workspace / path).stat().st_uid == 4321
    (workspace / "mine.txt").write_text("old")
    os.chown(workspace / "mine.txt", 1111, 1111)
    files.write_text(workspace, "mine.txt", "new")
    assert (workspace / "mine.txt").stat().st_uid == 1111


def test_write_under_a_file_is_invalid(workspace: Path) -> None:
    (workspace / "f").write_text("x")
    with pytest.raises(InvalidInput, match="not a directory"):
        files.write_text(workspace, "f/g.txt", "x")


def test_write_never_follows_a_final_link_out(workspace: Path) -> None:
    outside = workspace.parent / "outside" / "secret.txt"
    (workspace / "rel").symlink_to("../outside/secret.txt")
    with pytest.raises(PathRefused):
        files.write_text(workspace, "rel", "pwned")
    assert outside.read_text() == "host secret\n"
    assert (workspace / "rel").is_symlink()


# --------------------------------------------------------------------------- delete


def test_delete_file_tree_and_link(workspace: Path) -> None:
    (workspace / "f.txt").write_text("x")
    (workspace / "tree" / "sub").mkdir(parents=True)
    (workspace / "tree" / "sub" / "g").write_text("y")
    (workspace / "keep").mkdir()
    (workspace / "keep" / "k").write_text("k")
    (workspace / "link").symlink_to("keep")
    (workspace / "out").symlink_to("../outside")
    files.delete(workspace, "f.txt")
    files.delete(workspace, "/workspace/tree")
    files.delete(workspace, "link")
    files.delete(workspace, "out")
    assert sorted(p.name for p in workspace.iterdir()) == ["keep"]
    assert (workspace / "keep" / "k").exists()
    assert (workspace.parent / "outside" / "secret.txt").exists()


def test_delete_refusals(workspace: Path) -> None:
    with pytest.raises(NotFound):
        files.delete(workspace, "missing")
    for root in ("/workspace", ".", "a/.."):
        with pytest.raises(PathRefused, match="itself"):
            files.delete(workspace, root)
    with pytest.raises(PathRefused):
        files.delete(workspace, "../outside")
    (workspace / "o").symlink_to("../outside")
    with pytest.raises(PathRefused):
        files.delete(workspace, "o/secret.txt")
    assert (workspace.parent / "outside" / "secret.txt").exists()


# --------------------------------------------------------------------------- search


def test_search_globs_base_names(workspace: Path) -> None:
    (workspace / "src" / "pkg").mkdir(parents=True)
    (workspace / "src" / "pkg" / "a.py").write_text("")
    (workspace / "b.py").write_text("")
    (workspace / "notes.md").write_text("")
    (workspace / "py").mkdir()
    (workspace / ".git" / "objects").mkdir(parents=True)
    (workspace / ".git" / "objects" / "x.py").write_text("")
    (workspace / "ext").symlink_to("../outside")
    assert files.search(workspace, "*.py") == ["/workspace/b.py", "/workspace/src/pkg/a.py"]
    assert files.search(workspace, "py") == ["/workspace/py"]
    assert files.search(workspace, "*.txt") == []  # the link to outside is not walked
    assert files.search(workspace, "[ab].*") == ["/workspace/b.py", "/workspace/src/pkg/a.py"]
    assert len(files.search(workspace, "*", limit=2)) == 2


def test_search_rejects_bad_patterns(workspace: Path) -> None:
    for pattern in ("", "a/b", "x\x00"):
        with pytest.raises(InvalidInput):
            files.search(workspace, pattern)
