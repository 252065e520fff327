"""Opening input files strictly: decompressors that raise at a truncated archive instead
of ending quietly, and the check that a file is a regular file."""

from __future__ import annotations

import bz2
import gzip
import io
import os
import stat
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO, cast

import zstandard
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from trt_text_classifier import model_files


class StrictStreamReader(io.RawIOBase):
    """A compressed file's bytes, decompressed stream after stream (several may follow each
    other), raising EOFError where the file ends inside a stream. Subclasses say how a
    stream's decompressor is made."""

    READ_SIZE = 1 << 16

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._stream = self._new_stream()
        self._in_stream = False
        self._pending = b""

    def _new_stream(self) -> Any:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            compressed = self._raw.read(self.READ_SIZE)
            if not compressed:
                if self._in_stream:
                    raise EOFError(
                        "Compressed file ended before the end-of-stream marker was reached"
                    )
                return 0
            self._pending = self._decompress(compressed)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _decompress(self, compressed: bytes) -> bytes:
        output = []
        while compressed:
            self._in_stream = True
            output.append(self._stream.decompress(compressed))
            if not self._stream.eof:
                break
            self._in_stream = False
            compressed = self._stream.unused_data
            self._stream = self._new_stream()
        return b"".join(output)

    def close(self) -> None:
        self._raw.close()
        super().close()


class ZstdReader(StrictStreamReader):
    """A .zst file's frames. (zstandard's `stream_reader` ends quietly inside a frame: a
    truncated file cut inside its first block reads as empty.)"""

    def _new_stream(self) -> Any:
        return zstandard.ZstdDecompressor().decompressobj()


class DeflateReader(StrictStreamReader):
    """A .deflate file's zlib streams, as Beam's DEFLATE reads them (Beam's reader ends
    quietly inside a stream)."""

    def _new_stream(self) -> Any:
        return zlib.decompressobj()


def _deflate_reader(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, io.BufferedReader(DeflateReader(raw)))


def _zstd_reader(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, io.BufferedReader(ZstdReader(raw)))


def _gzip_reader(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, gzip.GzipFile(fileobj=raw))


def _bz2_reader(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, bz2.BZ2File(raw))


STRICT_DECOMPRESSORS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    ".gz": _gzip_reader,
    ".bz2": _bz2_reader,
    ".zst": _zstd_reader,
    ".deflate": _deflate_reader,
}
"""Readers of these formats that raise EOFError on a truncated file, where Beam's
(CompressedFile) ends quietly: gzip and deflate with half a line as a record, bz2 and zstd
with no line at all."""


def open_decompressed(readable_file: fileio.ReadableFile) -> BinaryIO:
    """The file's bytes, decompressed by its extension; a truncated .gz/.bz2/.zst/.deflate
    raises EOFError."""
    path = readable_file.metadata.path
    for extension, reader in STRICT_DECOMPRESSORS.items():
        if path.lower().endswith(extension):
            return reader(readable_file.open(compression_type=CompressionTypes.UNCOMPRESSED))
    return readable_file.open()


def not_regular_file(path: str) -> str | None:
    """What a local `path` is when it is not a regular file (a FIFO would block the reader
    forever, a device such as /dev/urandom never ends), else None. Remote files always
    are regular."""
    if not model_files.is_local(path):
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # opening it reports the error
    if stat.S_ISREG(mode):
        return None
    return f"{path} is {file_kind(mode)}"


def file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")
