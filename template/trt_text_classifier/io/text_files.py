"""Reading input files: lines (encodings, line endings, undecodable lines) and `ReadLines`.

`read_files` matches a pattern and reads every file into lists of records with `ReadLines`.
A line of an input file gets the id `PATH:LINE`: the file's full path as matched and its
1-based line number, blank lines included, so every output names the exact line it came from.

- Encoding: UTF-8 unless the file starts with a byte-order mark: UTF-8, UTF-16
  (LE/BE) and UTF-32 (LE/BE) marks select that encoding and are removed.
- Line endings: chosen per file from its first line ending. In an LF or CRLF file only
  LF ends a line: a lone CR inside a line is text (a JSON record's whitespace), never a
  new line, so ids stay the line numbers `sed -n Np` gives; the CR of a CRLF, and a CR at
  the very end, are removed. A file whose first lines end with lone CRs only (old Mac,
  `CR_LOOKAHEAD`) has its lines ended by CR.
- A line that cannot be decoded is returned as `UndecodableLine` (its bytes and
  the reason): the caller dead-letters it, the other lines go on.

Lines are numbered from 1, blank lines included; memory stays flat for any file size.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NamedTuple, cast

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics import Metrics

from trt_text_classifier import model_files
from trt_text_classifier.errors import one_line
from trt_text_classifier.io.compressed_files import (
    not_regular_file,
    open_decompressed,
)
from trt_text_classifier.records import (
    DEAD_LETTERS,
    METRICS_NAMESPACE,
    DeadLetter,
    TextRecord,
    per_record,
)

SPREAD_CHUNK = 1024
"""Records per element through the batch job's Reshuffle, whose cost is per element (the
local runner groups every element in one Python process; Dataflow's shuffle per element)."""

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
    text = io.TextIOWrapper(stream, encoding=encoding, errors=ESCAPE_ERRORS, newline="")
    for number, line in enumerate(_joined_lines(text), start=1):
        # ASCII text holds no escaped bytes: skip the check on the common path.
        yield number, line if line.isascii() else check_decoded(line, encoding)


CR_LOOKAHEAD = 1000
"""Lines ending in a lone CR read before the file is taken for an old-Mac (CR) file."""


def _joined_lines(pieces: Iterator[str]) -> Iterator[str]:
    """Lines without their endings, by the file's line ending (see the module).

    `pieces` end at any of CR, LF, CRLF (newline=""). A file with an LF (alone or in CRLF)
    among its first `CR_LOOKAHEAD` pieces is an LF file: only LF ends its lines; a file
    with lone CRs only is a CR file. Pieces that do not end a line join the next.
    """
    ending: str | None = None
    ahead: list[str] = []
    pending: list[str] = []
    for piece in pieces:
        if ending is None:
            ahead.append(piece)
            if piece.endswith("\n"):
                ending = "\n"
            elif len(ahead) >= CR_LOOKAHEAD and piece.endswith("\r"):
                ending = "\r"
            else:
                continue
            yield from _split(ahead, ending, pending)
            ahead = []
        else:
            yield from _split((piece,), ending, pending)
    if ahead:  # no LF anywhere: lone CRs end lines
        yield from _split(ahead, "\r", pending)
    if pending:
        yield "".join(pending).removesuffix("\n").removesuffix("\r")


def _split(pieces: Iterable[str], ending: str, pending: list[str]) -> Iterator[str]:
    """The lines that `pieces` end (after `pending`, the start of a line), by `ending`.

    A piece that ends no line is kept in `pending`. LF and CRLF files both end lines at LF
    (as `sed` counts them), never at a lone CR.
    """
    for piece in pieces:
        if not (ending == "\r" or piece.endswith("\n")):
            pending.append(piece)
            continue
        line = "".join(pending) + piece if pending else piece
        pending.clear()
        yield line.removesuffix("\n").removesuffix("\r")


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


class ReadLines(beam.DoFn):
    """Reads one matched file line by line into lists of `TextRecord`s (see `read_lines`).

    Records leave in lists of at most `chunk_size` consecutive lines of a file
    (the rest at its end): the Reshuffle that spreads them over workers, and
    every step after it, then moves a thousand times fewer elements.

    Compressed files (.gz, .bz2, .zst, .deflate) are decompressed, chosen by
    the file's extension. A file whose first bytes are not text (a .zip archive, UTF-16/32
    without a byte-order mark: see `not_text`) gives one dead letter (stage "read") and no
    record. Anything but a regular file (a FIFO, a device such as /dev/urandom) is not
    opened: it gives one dead letter and counts in `not_regular_files`. Blank lines are counted and skipped. A line that
    cannot be decoded goes to the `dead_letters` output (stage "decode"). A
    file that fails part-way (a corrupt archive) gives one dead letter (id
    PATH, stage "read") after the lines read so far; the other files go on. A
    file whose name is not valid UTF-8 gives a dead letter per line (stage
    "read", its id the name with the invalid bytes escaped as \\xNN).
    """

    def __init__(self, chunk_size: int = SPREAD_CHUNK) -> None:
        self._chunk_size = chunk_size
        self._records = Metrics.counter(METRICS_NAMESPACE, "records_read")
        self._blank_lines = Metrics.counter(METRICS_NAMESPACE, "blank_lines")
        self._undecodable = Metrics.counter(METRICS_NAMESPACE, "undecodable_lines")
        self._unreadable = Metrics.counter(METRICS_NAMESPACE, "unreadable_files")
        self._not_regular = Metrics.counter(METRICS_NAMESPACE, "not_regular_files")

    def process(self, readable_file: fileio.ReadableFile) -> Iterator[object]:
        path = readable_file.metadata.path
        printable = escape_file_name(path)
        not_regular = not_regular_file(path)
        if not_regular is not None:
            self._not_regular.inc()
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTERS,
                DeadLetter(
                    printable,
                    "",
                    f"{not_regular}, not a regular file: it was not read (only regular files "
                    "are); leave it out of the input pattern",
                    "read",
                ),
            )
            return
        number = 0
        chunk: list[TextRecord] = []
        try:
            with open_decompressed(readable_file) as handle:
                head = handle.read(SNIFF_BYTES)
                refused = not_text(head)
                if refused is not None:
                    self._unreadable.inc()
                    yield beam.pvalue.TaggedOutput(
                        DEAD_LETTERS,
                        DeadLetter(printable, "", f"{refused}; no line of it was read", "read"),
                    )
                    return
                rejoined = cast(BinaryIO, io.BufferedReader(_Rejoined(head, handle)))
                for number, line in read_lines(rejoined):
                    record_id = f"{printable}:{number}"
                    output = per_record(
                        lambda: self._record(record_id, line, printable != path),  # noqa: B023
                        record_id=record_id,
                        record=line.escaped() if isinstance(line, UndecodableLine) else line,
                        stage="decode",
                    )
                    if isinstance(output, DeadLetter):
                        output = beam.pvalue.TaggedOutput(DEAD_LETTERS, output)
                    if isinstance(output, TextRecord):
                        chunk.append(output)
                        if len(chunk) >= self._chunk_size:
                            yield chunk
                            chunk = []
                    elif output is not None:
                        yield output
        except Exception as error:  # a corrupt archive raises zlib.error, ZstdError, OSError, ...
            if chunk:
                yield chunk
                chunk = []
            self._unreadable.inc()
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTERS,
                DeadLetter(
                    printable,
                    "",
                    f"the file could not be read after line {number} ({one_line(error)}); "
                    "lines before it were read, the rest of the file was not",
                    "read",
                ),
            )
        if chunk:
            yield chunk

    def _record(self, record_id: str, line: str | UndecodableLine, bad_name: bool) -> object:
        """The record, or its dead letter, or None for a blank line (no generator: hot path)."""
        if isinstance(line, UndecodableLine):
            self._undecodable.inc()
            return beam.pvalue.TaggedOutput(
                DEAD_LETTERS, DeadLetter(record_id, line.escaped(), line.reason, "decode")
            )
        if not line.strip():
            self._blank_lines.inc()
            return None
        if bad_name:
            return beam.pvalue.TaggedOutput(
                DEAD_LETTERS,
                DeadLetter(
                    record_id,
                    line,
                    "the file name is not valid UTF-8, so no output could name this record; "
                    "rename the file",
                    "read",
                ),
            )
        self._records.inc()
        return TextRecord(record_id, line)


def matchable_pattern(pattern: str) -> str:
    """`pattern`, with `./` before a local wildcard that names no directory: Beam lists the
    directory part of a pattern, and `*.txt` has none, so it would match nothing even where
    files exist in the working directory."""
    if (
        model_files.is_local(pattern)
        and not os.path.dirname(pattern)
        and any(char in pattern for char in "*?[")
    ):
        return "./" + pattern
    return pattern


def escape_file_name(path: str) -> str:
    """`path` with bytes that are not UTF-8 (held as lone surrogates) written as \\xNN."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", errors="surrogateescape").decode(
            "utf-8", errors="backslashreplace"
        )
    return path


def read_files(pipeline: beam.Pipeline, pattern: str) -> tuple[beam.PCollection, beam.PCollection]:
    """(lists of records, undecodable lines as dead letters) from the files matching `pattern`.

    Two Reshuffles spread the work. The first spreads the matched files, so that workers
    read them in parallel: without it the one element that matching starts from keeps every
    file in one bundle, read by one worker (the local runner's single process read and
    pickled all records before any was classified). The second spreads the records of each
    file, so that one large file is still tokenized and classified everywhere.
    """
    read = (
        pipeline
        | "MatchInput" >> fileio.MatchFiles(matchable_pattern(pattern))
        | "SpreadFiles" >> beam.Reshuffle()
        | "OpenFiles" >> fileio.ReadMatches()
        | "ReadLines" >> beam.ParDo(ReadLines()).with_outputs(DEAD_LETTERS, main="records")
    )
    chunks = (
        read.records
        | "PackRecords" >> beam.Map(packed)
        | "SpreadRecords" >> beam.Reshuffle()
        | "UnpackRecords" >> beam.Map(unpacked)
    )
    return chunks, read[DEAD_LETTERS]


PackedRecords = tuple[list[str], list[str]]
"""A chunk of `TextRecord`s as two lists of strings: ids, texts."""


def packed(chunk: list[TextRecord]) -> PackedRecords:
    """A chunk as plain strings, for the Reshuffle: Beam's coders write lists of strings
    directly, where named tuples are pickled one by one (about 10 µs a record).

    Records read from files hold only an id and a text, both valid UTF-8 (`ReadLines` makes
    a line that is not into a dead letter), so every string encodes.
    """
    return [record.id for record in chunk], [record.text for record in chunk]


def unpacked(chunk: PackedRecords) -> list[TextRecord]:
    """`packed`'s records again."""
    ids, texts = chunk
    return [TextRecord(record_id, text) for record_id, text in zip(ids, texts, strict=True)]


SNIFF_BYTES = 4096
"""Bytes (after decompression) looked at to tell text from what is not (`not_text`)."""


ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
"""A zip archive's first bytes (a local file header; an empty archive; a spanned one)."""


def not_text(head: bytes) -> str | None:
    """Why a file starting with `head` (its first decompressed bytes) is not read as text.

    A .zip archive (Beam decompresses .gz/.bz2/.zst/.deflate, never .zip) would give
    predictions on its compressed bytes. Text without a byte-order mark is read as UTF-8,
    in which a NUL byte never appears in text: a file whose first bytes are a quarter NULs or
    more is UTF-16/32 without a mark (every ASCII character followed by NULs) or binary, and
    would give predictions on NUL-filled lines. Files with a byte-order mark are decoded by it.
    """
    if head.startswith(ZIP_MAGIC):
        return (
            "the file is a zip archive, which is not read (Beam decompresses .gz, .bz2, .zst "
            "and .deflate files); unzip it, or compress it with gzip"
        )
    if detect_encoding(head[:4]) == "utf-8":
        nuls = head.count(0)
        if nuls and nuls * 4 >= len(head):
            return (
                f"the file is not text: {nuls} of its first {len(head)} bytes are NUL (UTF-16 "
                "or UTF-32 without a byte-order mark, or a binary file); re-encode it as UTF-8"
            )
    return None
