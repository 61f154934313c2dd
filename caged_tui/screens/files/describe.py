"""What the preview says about a file it does not show as text: binary or too large.

Pure functions (no Textual): the kind of file from its first bytes or its name,
and a hex dump of those bytes, so nothing garbled ever reaches the screen.
"""

from __future__ import annotations

import mimetypes
import posixpath
import re

#: Bytes read to describe a file that is not shown.
HEAD_BYTES = 64
#: Largest file the preview reads (the platform refuses more than 1 MB).
READ_LIMIT = 1_000_000
# C0 (but tab, newline, carriage return), DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")

# Signatures of common binary formats (first bytes → what they are).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x00asm", "WebAssembly module"),
)

#: File name endings → TextArea language (the grammars textual[syntax] ships).
LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".sh": "bash",
    ".bash": "bash",
    ".rs": "rust",
    ".go": "go",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".sql": "sql",
    ".xml": "xml",
    ".java": "java",
}


def language_of(path: str) -> str | None:
    """The highlighting language for ``path``, None for plain text."""
    name = posixpath.basename(path).lower()
    if name in (".bashrc", ".profile", ".bash_profile"):
        return "bash"
    return LANGUAGES.get(posixpath.splitext(name)[1])


def looks_binary(text: str) -> bool:
    """Whether text read through the API is not shown as text: bytes that were not UTF-8
    (the platform replaces them with U+FFFD), or a control character other than tab,
    newline and carriage return anywhere in it. The editor writes a file's characters to
    the terminal as they are, so an escape sequence in a sandbox's file would be obeyed by
    the user's terminal (``ESC ] 52`` sets its clipboard)."""
    return "\ufffd" in text[:8192] or _CONTROL.search(text) is not None


def kind_of(path: str, head: bytes) -> str:
    """What the file is: from its first bytes, else its name, else "binary data"."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    guessed, _ = mimetypes.guess_type(posixpath.basename(path), strict=False)
    return guessed or "binary data"


def hex_dump(data: bytes, width: int = 8) -> str:
    """``offset  hex bytes  |ascii|`` lines, like ``hexdump -C``."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hexes = " ".join(f"{byte:02x}" for byte in chunk).ljust(width * 3 - 1)
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{offset:08x}  {hexes}  |{text}|")
    return "\n".join(lines)
