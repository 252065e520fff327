"""Lines of an input file: encodings, line endings, undecodable lines.

Used by the pipeline's file reader; no Beam here beyond the file handle it opens.

- Encoding: UTF-8 unless the file starts with a byte-order mark: UTF-8, UTF-16
  (LE/BE) and UTF-32 (LE/BE) marks select that encoding and are removed.
- Line endings: LF, CRLF and CR alone all end a line (Python's universal newlines).
- A line that cannot be decoded is returned as `UndecodableLine` (its bytes and
  the reason): the caller dead-letters it, the other lines go on.

Lines are numbered from 1, blank lines included; memory stays flat for any file size.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Longest first: a UTF-32 LE mark starts with the UTF-16 LE one. The codecs remove the mark."""


class UndecodableLine(NamedTuple):
    """A line whose bytes are not valid in the file's encoding."""

    raw: bytes
    reason: str

    def escaped(self) -> str:
        """The bytes as text, invalid bytes written as \\xNN."""
        return self.raw.decode("utf-8", errors="backslashreplace")


def detect_encoding(head: bytes) -> str:
    """The codec for a file that starts with `head` (its first 4 bytes or fewer)."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return encoding
    return "utf-8"


def read_lines(handle: BinaryIO) -> Iterator[tuple[int, str | UndecodableLine]]:
    """(line number, text without its line ending, or UndecodableLine) for each line."""
    head = handle.read(4)
    encoding = detect_encoding(head)
    stream = io.BufferedReader(_Rejoined(head, handle), buffer_size=1 << 16)
    text = io.TextIOWrapper(stream, encoding=encoding, errors=ESCAPE_ERRORS, newline=None)
    for number, line in enumerate(text, start=1):
        line = line.removesuffix("\n")
        # ASCII text holds no escaped bytes: skip the check on the common path.
        yield number, line if line.isascii() else check_decoded(line, encoding)


class _Rejoined(io.RawIOBase):
    """`head` (already read to find the encoding) followed by the rest of `handle`.

    Any readable Beam handle works this way (local, gs://, decompressing), peekable or not.
    """

    def __init__(self, head: bytes, handle: BinaryIO) -> None:
        self._head = head
        self._handle = handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


ESCAPE_ERRORS = "trt_text_classifier.escape"
"""Decoding error handler: each undecodable byte B becomes the lone surrogate U+DC00+B
(like surrogateescape, but for every byte value, as UTF-16/32 need)."""


def _escape(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(0xDC00 + byte) for byte in error.object[error.start : error.end]), error.end


codecs.register_error(ESCAPE_ERRORS, _escape)


def unescape(line: str) -> bytes:
    """The bytes behind a line decoded with `ESCAPE_ERRORS` (valid text as UTF-8)."""
    return b"".join(
        bytes([ord(char) - 0xDC00]) if 0xDC00 <= ord(char) <= 0xDCFF else char.encode("utf-8")
        for char in line
    )


def check_decoded(line: str, encoding: str) -> str | UndecodableLine:
    """A line holding escaped bytes (lone surrogates) could not be decoded."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        raw = unescape(line)
        name = "UTF-8" if encoding.startswith("utf-8") else encoding.upper()
        try:
            raw.decode(encoding.removesuffix("-sig"))
        except UnicodeDecodeError as error:
            where = f" ({error.reason} at byte {error.start})" if name == "UTF-8" else ""
            return UndecodableLine(
                raw, f"line is not valid {name}{where}; re-encode the file as UTF-8"
            )
        return UndecodableLine(raw, f"line is not valid {name}; re-encode the file as UTF-8")
    return line
