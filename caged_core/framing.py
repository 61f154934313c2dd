"""Reading the framed answer of a script run inside a sandbox.

Exec output arrives decoded as UTF-8 with stdout and stderr interleaved, so scripts
that must return exact bytes (the client's workspace verbs, the platform's git) print,
after a marker line of their own: stdout base64-encoded, a line ``.``, the tail of
stderr base64-encoded, a line ``.``, then the exit status. The answer comes from the
sandbox, so it is read as untrusted data: anything else is a :class:`ValueError`.
"""

from __future__ import annotations

import base64

__all__ = ["unframe"]


def unframe(lines: list[str]) -> tuple[bytes, bytes, int]:
    """``(stdout, stderr, status)`` from the lines after the marker.

    Raises:
        ValueError: the lines are not such an answer (a missing ``.``, bad base64, a
            status that is not a number).
    """
    try:
        first = lines.index(".")
        second = lines.index(".", first + 1)
        status = lines[second + 1]
    except (ValueError, IndexError) as err:
        raise ValueError("not a framed answer") from err
    stdout = base64.b64decode("".join(lines[:first]), validate=True)
    stderr = base64.b64decode("".join(lines[first + 1 : second]), validate=True)
    return stdout, stderr, int(status)
