"""Keeps httpx's command-line client out of every caged process.

httpx's package imports its command-line client (click, pygments, rich's progress
bars: ~30 ms, a tenth of the TUI's way to its first frame) whenever click happens to
be installed. No caged process runs that command. A None entry makes the import fail
as it does without click, and httpx then leaves the command out; the ``httpx``
program itself, a process of its own, is not affected.
"""

import sys

# None blocks an import (the import system documents it); typeshed types values as modules.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
