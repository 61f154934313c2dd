"""caged_platform.content.snapshots: real tar.gz archives made, restored and refused."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from caged_platform.content import snapshots
from caged_platform.content.content_errors import (
    LimitReached,
    NotFound,
    OperationFailed,
    TokenRefused,
    TooLarge,
)

Tree = dict[str, tuple[str, object, int]]


def tree(root: Path) -> Tree:
    """Everything below ``root``: kind, content or link target, and mode."""
    found: Tree = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path), 0)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", None, 0)
            else:
                found[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
    return found


def siblings(workspace: Path) -> list[str]:
    return sorted(p.name for p in workspace.parent.iterdir())


@pytest.fixture
def populated(workspace: Path) -> Path:
    (workspace / "src" / "pkg").mkdir(parents=True)
    (workspace / "src" / "pkg" / "m.py").write_text("print('hi')\n")
    script = workspace / "run.sh"
    script.write_text("#!/bin/sh\necho run\n")
    script.chmod(0o755)
    private = workspace / "private.key"
    private.write_text("k")
    private.chmod(0o600)
    (workspace / "empty").mkdir()
    (workspace / "bin.dat").write_bytes(bytes(range(256)) * 300)
    (workspace / "rel-link").symlink_to("src/pkg/m.py")
    (workspace / ".venv-python").symlink_to("/usr/bin/python3")  # absolute, cage namespace
    (workspace / "dangling").symlink_to("nowhere")
    (workspace / "out").symlink_to("../outside")
    os.utime(workspace / "run.sh", (1_700_000_000, 1_700_000_000))
    return workspace


def make_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    return info


# --------------------------------------------------------------------------- create


def test_round_trip_keeps_content_modes_and_links(populated: Path, tmp_path: Path) -> None:
    archive = tmp_path / "snap.tar.gz"
    size = snapshots.create_archive(populated, archive)
    assert size == archive.stat().st_size > 0
    assert not (tmp_path / "snap.tar.gz.partial").exists()

    target = tmp_path / "target"
    target.mkdir()
    (target / "old.txt").write_text("to be replaced")
    (target / "src").mkdir()
    (target / "src" / "stale.py").write_text("")
    snapshots.restore_archive(archive, target)

    assert tree(target) == tree(populated)
    assert (target / "run.sh").stat().st_mtime == 1_700_000_000
    assert os.readlink(target / "out") == "../outside"
    assert not (target / "old.txt").exists()
    assert siblings(target) == sorted(["outside", "workspace", "target", "snap.tar.gz"])


def test_archive_stores_relative_names_and_links_not_targets(
    populated: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "snap.tar.gz"
    snapshots.create_archive(populated, archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        out = tar.getmember("out")
    assert all(not n.startswith(("/", "./")) for n in names)
    assert "src/pkg/m.py" in names and "empty" in names
    assert out.issym() and out.linkname == "../outside"
    assert not any("secret" in n for n in names)


def test_create_skips_fifos(workspace: Path, tmp_path: Path) -> None:
    os.mkfifo(workspace / "pipe")
    (workspace / "f").write_text("x")
    archive = tmp_path / "a.tar.gz"
    snapshots.create_archive(workspace, archive)  # and does not hang on the FIFO
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["f"]


def test_create_keeps_no_setuid_bits_devices_or_hard_links(workspace: Path, tmp_path: Path) -> None:
    program = workspace / "program"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o6755)
    os.link(program, workspace / "second-name")
    if os.geteuid() == 0:
        os.mknod(workspace / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    archive = tmp_path / "a.tar.gz"
    snapshots.create_archive(workspace, archive)
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["program", "second-name"]
    for info in members.values():
        assert info.isreg() and info.mode == 0o755 and info.size == len("#!/bin/sh\n")


def test_create_over_budget_deletes_the_partial_archive(workspace: Path, tmp_path: Path) -> None:
    (workspace / "noise").write_bytes(os.urandom(200_000))
    archive = tmp_path / "big.tar.gz"
    with pytest.raises(TooLarge, match="100,000 bytes"):
        snapshots.create_archive(workspace, archive, max_bytes=100_000)
    assert not archive.exists()
    assert not (tmp_path / "big.tar.gz.partial").exists()


def test_create_from_a_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        snapshots.create_archive(tmp_path / "gone", tmp_path / "a.tar.gz")
    assert list(tmp_path.iterdir()) == []


def make_deep(root: Path, depth: int) -> Path:
    """``root/d/d/.../d`` ``depth`` levels deep, made through descriptors (pathlib recurses)."""
    fd = os.open(root, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    return root.joinpath(*["d"] * depth)


def test_deep_trees_do_not_exhaust_recursion(workspace: Path, tmp_path: Path) -> None:
    deep = make_deep(workspace, 1100)  # deeper than the default recursion limit
    (deep / "leaf").write_text("leaf")
    archive = tmp_path / "deep.tar.gz"
    snapshots.create_archive(workspace, archive)
    target = tmp_path / "target"
    target.mkdir()
    (target / "old").mkdir()
    make_deep(target / "old", 1100)  # and the old tree going to the trash is as deep
    snapshots.restore_archive(archive, target)
    assert (target / deep.relative_to(workspace) / "leaf").read_text() == "leaf"
    assert not (target / "old").exists()
    assert [n for n in siblings(target) if ".trash-" in n] == []
    subprocess.run(["rm", "-rf", str(workspace), str(target)], check=True)


# --------------------------------------------------------------------------- restore refusals


@pytest.fixture
def target(tmp_path: Path) -> Path:
    ws = tmp_path / "target"
    ws.mkdir()
    (ws / "keep.txt").write_text("keep me\n")
    (ws / "dir").mkdir()
    (ws / "dir" / "inner").write_text("inner\n")
    return ws


def assert_untouched(target: Path) -> None:
    assert tree(target) == {
        "keep.txt": ("file", b"keep me\n", 0o644),
        "dir": ("dir", None, 0),
        "dir/inner": ("file", b"inner\n", 0o644),
    }
    leftovers = [n for n in siblings(target) if ".restore-" in n or ".trash-" in n]
    assert leftovers == []


def test_corrupt_archive_leaves_the_target_untouched(target: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(OperationFailed, match="could not be read"):
        snapshots.restore_archive(garbage, target)
    assert_untouched(target)


def test_truncated_archive_leaves_the_target_untouched(
    populated: Path, target: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "snap.tar.gz"
    snapshots.create_archive(populated, archive)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(OperationFailed):
        snapshots.restore_archive(archive, target)
    assert_untouched(target)


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([(member("../evil"), b"x")], "climbs out"),
        ([(member("ok/../../evil"), b"x")], "climbs out"),
        ([(member("/tmp/caged-abs-evil"), b"x")], "absolute"),
        (
            [
                (member("link", tarfile.SYMTYPE, "/tmp"), None),
                (member("link/caged-evil"), b"x"),
            ],
            "below a symbolic link",
        ),
        (
            [
                (member("up", tarfile.SYMTYPE, ".."), None),
                (member("up/caged-evil"), b"x"),
            ],
            "below a symbolic link",
        ),
        (
            [
                (member("same", tarfile.SYMTYPE, "/etc/passwd"), None),
                (member("same"), b"overwrite through the link"),
            ],
            "twice",
        ),
        ([(member("no-parent/f"), b"x")], "before its directory"),
        (
            [
                (member("link", tarfile.SYMTYPE, "/tmp"), None),
                (member("link/deeper/caged-evil"), b"x"),
            ],
            "before its directory",
        ),
        ([(member("hard", tarfile.LNKTYPE, "keep.txt"), None)], "not a file"),
        ([(member("dev", tarfile.CHRTYPE), None)], "not a file"),
        ([(member("fifo", tarfile.FIFOTYPE), None)], "not a file"),
    ],
)
def test_malicious_archives_are_refused_untouched(
    target: Path,
    tmp_path: Path,
    members: list[tuple[tarfile.TarInfo, bytes | None]],
    why: str,
) -> None:
    # A harmless first member proves that nothing extracted so far reaches the target.
    archive = make_archive(tmp_path / "evil.tar.gz", [(member("first.txt"), b"1"), *members])
    with pytest.raises(OperationFailed, match=why):
        snapshots.restore_archive(archive, target)
    assert_untouched(target)
    assert not (tmp_path / "evil").exists()
    assert not Path("/tmp/caged-abs-evil").exists()
    assert not Path("/tmp/caged-evil").exists()
    assert not (tmp_path / "caged-evil").exists()


def test_setuid_and_world_writable_bits_are_dropped(target: Path, tmp_path: Path) -> None:
    info = member("tool")
    info.mode = 0o4777
    archive = make_archive(tmp_path / "a.tar.gz", [(info, b"#!/bin/sh\n")])
    snapshots.restore_archive(archive, target)
    assert stat.S_IMODE((target / "tool").stat().st_mode) == 0o755


def test_restore_of_a_missing_archive_or_workspace(target: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        snapshots.restore_archive(tmp_path / "none.tar.gz", target)
    assert_untouched(target)
    archive = make_archive(tmp_path / "a.tar.gz", [(member("f"), b"x")])
    with pytest.raises(NotFound):
        snapshots.restore_archive(archive, tmp_path / "gone")


def test_failed_swap_is_rolled_back(
    target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_archive(
        tmp_path / "a.tar.gz", [(member("a-new"), b"1"), (member("z-new"), b"2")]
    )
    real_rename = os.rename

    def failing_rename(src: str, dst: str, **kwargs: int) -> None:
        # Fault injection: the second new entry cannot be moved in.
        if src == "z-new":
            raise OSError(28, "No space left on device")
        real_rename(src, dst, **kwargs)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OperationFailed, match="workspace is unchanged"):
        snapshots.restore_archive(archive, target)
    assert_untouched(target)


def test_restore_keeps_the_workspace_inode(populated: Path, target: Path, tmp_path: Path) -> None:
    # The workspace is a running cage's bind-mount source: it must stay the same directory.
    before = target.stat().st_ino
    archive = tmp_path / "snap.tar.gz"
    snapshots.create_archive(populated, archive)
    snapshots.restore_archive(archive, target)
    assert target.stat().st_ino == before


# --------------------------------------------------------------------------- limits


def test_limits() -> None:
    assert snapshots.check_limits(0, 0) == snapshots.MAX_SNAPSHOT_BYTES
    assert snapshots.check_limits(19, 0) == snapshots.MAX_SNAPSHOT_BYTES
    nearly_full = snapshots.MAX_ACCOUNT_SNAPSHOT_BYTES - 1000
    assert snapshots.check_limits(3, nearly_full) == 1000
    with pytest.raises(LimitReached, match="at most 20 snapshots") as caught:
        snapshots.check_limits(20, 0, sandbox_id="cage-1234abcd")
    problem = caught.value.problem()
    assert problem["status"] == 403
    assert problem["reason"]["code"] == "plan_limit_reached"
    assert problem["reason"]["subject_id"] == "cage-1234abcd"
    with pytest.raises(LimitReached, match=r"10\.0 GiB of the 10 GiB") as caught:
        snapshots.check_limits(1, snapshots.MAX_ACCOUNT_SNAPSHOT_BYTES)
    assert caught.value.reason()["subject_type"] == "account"


# --------------------------------------------------------------------------- download


def test_iter_archive_streams_the_file(tmp_path: Path) -> None:
    blob = os.urandom(200_000)
    path = tmp_path / "a.tar.gz"
    path.write_bytes(blob)
    chunks = list(snapshots.iter_archive(path))
    assert b"".join(chunks) == blob
    assert max(len(c) for c in chunks) == snapshots.CHUNK
    assert [len(c) for c in snapshots.iter_archive(path, chunk=150_000)] == [150_000, 50_000]
    with pytest.raises(NotFound):
        snapshots.iter_archive(tmp_path / "missing")


SECRET = b"k" * 32


def test_download_token_round_trip_and_expiry() -> None:
    token = snapshots.download_token("snap-1", SECRET, now=1000.0)
    snapshots.verify_download_token("snap-1", token, SECRET, now=1000.0)
    snapshots.verify_download_token("snap-1", token, SECRET, now=1000.0 + 3599)
    with pytest.raises(TokenRefused, match="expired"):
        snapshots.verify_download_token("snap-1", token, SECRET, now=1000.0 + 3600)


def test_download_token_refusals() -> None:
    token = snapshots.download_token("snap-1", SECRET)
    with pytest.raises(TokenRefused, match="not valid"):
        snapshots.verify_download_token("snap-2", token, SECRET)
    with pytest.raises(TokenRefused, match="not valid"):
        snapshots.verify_download_token("snap-1", token, b"other" * 8)
    expires, _, signature = token.partition(".")
    with pytest.raises(TokenRefused, match="not valid"):
        snapshots.verify_download_token("snap-1", f"{int(expires) + 9999}.{signature}", SECRET)
    for bad in ("", "abc", "12", "x.y"):
        with pytest.raises(TokenRefused, match="malformed"):
            snapshots.verify_download_token("snap-1", bad, SECRET)


def test_download_url() -> None:
    url = snapshots.download_url("snap-1a2b3c4d", SECRET)
    path, _, query = url.partition("?")
    assert path == "/v1/snapshots/snap-1a2b3c4d/download/content"
    assert query.startswith("sig=")
    snapshots.verify_download_token("snap-1a2b3c4d", query[4:], SECRET)
