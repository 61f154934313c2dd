"""``E`` hands a sandbox file to the user's editor without letting the file configure it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from caged_tui.screens.files.editor_command import editor_argv


def test_vim_reads_no_modelines_even_through_a_symlink(tmp_path: Path) -> None:
    vim = tmp_path / "vim.basic"
    vim.write_text("#!/bin/sh\n")
    vim.chmod(0o755)
    (tmp_path / "vi").symlink_to(vim)

    argv = editor_argv(f"{tmp_path / 'vi'} -p", "/tmp/edit.py")

    assert argv == [str(tmp_path / "vi"), "-p", "--cmd", "set nomodeline", "/tmp/edit.py"]


def test_emacs_reads_no_file_local_variables() -> None:
    argv = editor_argv("emacs -nw", "/tmp/edit.el")

    assert argv[:3] == ["emacs", "-nw", "--eval"]
    assert "enable-local-variables nil" in argv[3]
    assert argv[-1] == "/tmp/edit.el"


def test_other_editors_get_only_the_file() -> None:
    assert editor_argv("nano", "/tmp/a") == ["nano", "/tmp/a"]
    assert editor_argv("", "/tmp/a") == ["vi", *editor_argv("vi", "/tmp/a")[1:]]


def test_a_real_vim_ignores_a_hostile_modeline(tmp_path: Path) -> None:
    vim = shutil.which("vim") or shutil.which("vim.tiny")  # ./dev installs vim-tiny
    assert vim, "vim or vim.tiny is needed (./dev installs vim-tiny)"
    hostile = tmp_path / "edit.txt"
    hostile.write_text("text\n# vim: set tabstop=3 :\n")
    said = tmp_path / "said"
    # Ex mode, no terminal: record the tabstop vim ended up with after loading the file.
    # Modelines are switched on first, as a user's vimrc might (vim's default is off for root).
    command = [vim, "-N", "-u", "NONE", "-i", "NONE", "-es", "--cmd", "set modeline"]
    command += editor_argv(vim, str(hostile))[1:-1]
    command += ["-c", f"redir! > {said}", "-c", "set ts?", "-c", "redir END", "-c", "qa!"]
    command.append(str(hostile))
    subprocess.run(command, check=False, timeout=30)

    assert said.read_text().split() == ["tabstop=8"]


def test_emacsclient_is_given_the_file_to_visit_not_an_expression() -> None:
    """emacsclient's ``--eval`` turns every argument after it into an expression: the file
    would not be visited (its path evaluated as Lisp instead), and the setting would change
    the user's running Emacs for every file. The client gets the file only."""
    assert editor_argv("emacsclient -t", "/tmp/edit.el") == ["emacsclient", "-t", "/tmp/edit.el"]
    assert editor_argv("emacs-29.1", "/tmp/a")[1] == "--eval"


def test_vim_told_that_files_follow_gets_only_the_file() -> None:
    """After ``--`` or ``--remote`` vim opens every argument as a file: ``--cmd`` there
    would open files named ``--cmd`` and ``set nomodeline``."""
    assert editor_argv("vim --remote-tab-wait", "/tmp/a") == ["vim", "--remote-tab-wait", "/tmp/a"]
    assert editor_argv("vim --", "/tmp/a") == ["vim", "--", "/tmp/a"]
