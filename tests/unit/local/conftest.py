"""Fixtures for the local platform's content modules: real directories, real git."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace directory with a sibling 'outside' directory holding a secret."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret\n")
    ws = tmp_path / "workspace"
    ws.mkdir()
    return ws


GitRunner = Callable[..., str]


def _git(ws: Path, *args: str) -> str:
    """Run git in ``ws`` the way a test author would, with a fixed identity."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(ws.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=ws, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.fixture
def git() -> GitRunner:
    """``git(ws, *args)``: run git in ``ws`` and return its output."""
    return _git


@pytest.fixture
def repo(workspace: Path) -> Path:
    """A workspace that is a git repository with one commit of ``a.txt`` and ``b.txt``."""
    _git(workspace, "init", "-q", "-b", "main")
    (workspace / "a.txt").write_text("alpha\n")
    (workspace / "b.txt").write_text("beta\n")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-q", "-m", "initial")
    return workspace
