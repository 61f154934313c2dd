"""The local platform's sandbox runtime: cages (bubblewrap + an in-cage agent) on this host.

The server uses :class:`LocalRuntime` through the :class:`~.api.Runtime` contract.
"""

from .api import (
    CageError,
    CageInfo,
    CageNotFound,
    CagePaused,
    CageSpec,
    CageStats,
    ExecOutcome,
    FileChange,
    PtyChannel,
    Runtime,
)
from .manager import LocalRuntime

__all__ = [
    "CageError",
    "CageInfo",
    "CageNotFound",
    "CagePaused",
    "CageSpec",
    "CageStats",
    "ExecOutcome",
    "FileChange",
    "LocalRuntime",
    "PtyChannel",
    "Runtime",
]
