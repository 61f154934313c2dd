"""The command line that hands a sandbox file to the user's own editor.

The file's text comes from the sandbox, and editors obey instructions written in a file:
vim's modelines and Emacs's file-local variables (both have had holes that ran commands).
For the editors known to read them, the command turns them off before the file is read.
"""

from __future__ import annotations

import os
import shlex
import shutil

__all__ = ["editor_argv"]

# Options given before the file, so they are in force when it is read (vim's ``-c`` would
# come too late: modelines are applied as the file loads).
_VIM = ["--cmd", "set nomodeline"]
_EMACS = ["--eval", "(setq enable-local-variables nil enable-local-eval nil)"]


def _program(word: str) -> str:
    """The name of the program ``word`` runs, through symlinks such as Debian's ``vi`` →
    ``vim.basic``."""
    found = shutil.which(word)
    return os.path.basename(os.path.realpath(found) if found else word)


def _hardening(program: str, arguments: list[str]) -> list[str]:
    # After "--", or vim's --remote*, every argument is a file to open; emacsclient's --eval
    # makes every argument an expression (the file would not be visited, and the setting
    # would change the user's running Emacs): there, only the file is given.
    if "--" in arguments or any(word.startswith("--remote") for word in arguments):
        return []
    if program.startswith(("vim", "nvim", "gvim", "mvim")):
        return _VIM
    if program.startswith("emacs") and not program.startswith("emacsclient"):
        return _EMACS
    return []


def editor_argv(editor: str, path: str) -> list[str]:
    """``editor`` (``$VISUAL``/``$EDITOR``, which may hold arguments) run on ``path``."""
    words = shlex.split(editor) or ["vi"]
    return [*words, *_hardening(_program(words[0]), words[1:]), path]
