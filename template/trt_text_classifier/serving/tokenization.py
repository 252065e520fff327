"""Batch tokenization: one call of the fast tokenizer per batch, padded to the batch's longest record."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from trt_text_classifier.bundle import TOKENIZER_FILE
from trt_text_classifier.errors import one_line

INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
TOKEN_TYPE_IDS = "token_type_ids"

_ENCODING_ATTRIBUTES = {
    INPUT_IDS: "ids",
    ATTENTION_MASK: "attention_mask",
    TOKEN_TYPE_IDS: "type_ids",
}
"""Which attribute of a `tokenizers.Encoding` holds each BERT input."""


REMEMBERED_ENCODINGS = 17_408
"""Unpadded encodings `count_tokens` keeps per process for `encode` to reuse. It must hold
the records a batch job orders at once plus one incoming list: `OrderByLength`'s largest
window (GPU-sized batches: 256 x 64 records) and one `ReadLines` chunk (1,024). Smaller, the
batches of a window miss it and are tokenized twice (measured: 125 -> 84 us a sentence of
host work at batches of 256, `benchmarks/results/host-ceiling-profile*.md`);
tests/unit/serving/test_tokenization.py ties it to those constants."""


CHARACTERS_PER_TOKEN_BOUND = 32
"""A text is cut to `max_seq_length * CHARACTERS_PER_TOKEN_BOUND` characters before it is
tokenized: no tokenizer keeps more than `max_seq_length` tokens, so a 50 MB line costs no
more than a long sentence. (Text that needs more characters for its first tokens, such as
thousands of spaces, is cut short; it is still classified, and counted as truncated.)"""


def cut(texts: Sequence[str], max_seq_length: int) -> list[str]:
    """`texts`, each cut to what `max_seq_length` tokens can use (see above)."""
    limit = max_seq_length * CHARACTERS_PER_TOKEN_BOUND
    return [text if len(text) <= limit else text[:limit] for text in texts]


class _EncodingMemo:
    """Per process: (tokenizer configuration, text) -> its unpadded encoding, oldest out first.

    Ordering records by length tokenizes them once to count; the batches they
    then form are made of the same texts, so `encode` pads those encodings
    instead of tokenizing again (about 35 µs a sentence on the benchmark's CPU).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[tuple[str, str], Encoding] = {}
        self._lock = threading.Lock()

    def put(self, key: str, texts: Sequence[str], encodings: Sequence[Encoding]) -> None:
        with self._lock:
            for text, encoding in zip(texts, encodings, strict=True):
                self._entries[(key, text)] = encoding
            while len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]

    def take(self, key: str, texts: Sequence[str]) -> list[Encoding] | None:
        """The encodings of all `texts` (then forgotten), or None if any is missing."""
        with self._lock:
            found = [self._entries.get((key, text)) for text in texts]
            encodings = [encoding for encoding in found if encoding is not None]
            if len(encodings) < len(found):
                return None
            for text in texts:
                self._entries.pop((key, text), None)
            return encodings


_MEMO = _EncodingMemo(REMEMBERED_ENCODINGS)


@dataclass(frozen=True)
class TokenizedBatch:
    """A padded batch and what it cost.

    `real_tokens / computed_tokens` is the padding efficiency: the share of
    the (batch x sequence) grid the model computes that holds real tokens.
    """

    arrays: dict[str, np.ndarray]
    real_tokens: int
    computed_tokens: int
    truncated: tuple[bool, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return self.arrays[INPUT_IDS].shape


class BatchTokenizer:
    """Wraps a Hugging Face fast tokenizer for whole-batch encoding.

    Truncation at `max_seq_length` and padding to the longest sequence of the
    batch (rounded up to `pad_to_multiple_of`) are configured once on a copy
    of the backend tokenizer; `encode` is then a single `encode_batch_fast`
    call (no character offsets: nothing here needs them).
    A second, unpadded copy counts tokens (`count_tokens`) for ordering
    records by length before they are batched.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        *,
        max_seq_length: int,
        pad_token_id: int,
        pad_token: str,
        pad_to_multiple_of: int | None = None,
    ) -> None:
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.enable_truncation(max_length=max_seq_length)
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self._tokenizer.enable_truncation(max_length=max_seq_length)
        self._tokenizer.enable_padding(
            pad_id=pad_token_id, pad_token=pad_token, pad_to_multiple_of=pad_to_multiple_of
        )
        self.max_seq_length = max_seq_length
        self._pad_token_id = pad_token_id
        self._pad_to_multiple_of = pad_to_multiple_of
        self._memo_key = hashlib.sha256(self._tokenizer.to_str().encode("utf-8")).hexdigest()

    @classmethod
    def from_pretrained(cls, directory: str, *, max_seq_length: int) -> BatchTokenizer:
        """Load a tokenizer saved with `save_pretrained` (works offline).

        A directory with `tokenizer.json` (what every fast tokenizer saves) is
        read with `tokenizers` alone: importing transformers costs a worker
        about 2 seconds at startup. Other directories (a slow tokenizer's
        vocabulary files) go through transformers, which converts them.
        """
        if not Path(directory).is_dir():
            raise ValueError(
                f"no tokenizer could be loaded from {directory}: no such directory; give the "
                "directory the tokenizer was saved to (save_pretrained)"
            )
        if (Path(directory) / TOKENIZER_FILE).exists():
            return cls._from_tokenizer_file(Path(directory), max_seq_length)
        return cls._from_transformers(directory, max_seq_length)

    @classmethod
    def _from_tokenizer_file(cls, directory: Path, max_seq_length: int) -> BatchTokenizer:
        tokenizer_file = directory / TOKENIZER_FILE
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as error:
            raise ValueError(
                f"no tokenizer could be loaded from {tokenizer_file} ({one_line(error, with_type=False)}); "
                "save the tokenizer again with save_pretrained"
            ) from error
        pad_token = read_pad_token(directory)
        pad_token_id = tokenizer.token_to_id(pad_token)
        if pad_token_id is None:
            raise ValueError(f"the pad token {pad_token!r} is not in {tokenizer_file}")
        return cls(
            tokenizer, max_seq_length=max_seq_length, pad_token_id=pad_token_id, pad_token=pad_token
        )

    @classmethod
    def _from_transformers(cls, directory: str, max_seq_length: int) -> BatchTokenizer:
        """A slow tokenizer's files, converted by transformers (slow: only where needed)."""
        from transformers import AutoTokenizer

        try:
            pretrained = AutoTokenizer.from_pretrained(directory, use_fast=True)
        except (OSError, ValueError) as error:
            raise ValueError(
                f"no tokenizer could be loaded from {directory}: it has no {TOKENIZER_FILE}, "
                "and transformers could not build one from what is there "
                f"({one_line(error, with_type=False)}); point --tokenizer at a directory written by the "
                "tokenizer's save_pretrained"
            ) from error
        if len(pretrained) <= len(set(pretrained.all_special_ids)):
            raise ValueError(
                f"no tokenizer could be loaded from {directory}: it has no {TOKENIZER_FILE} and "
                "no vocabulary, so every word would be unknown; point --tokenizer at a directory "
                "written by the tokenizer's save_pretrained"
            )
        if not pretrained.is_fast:
            raise ValueError(f"the tokenizer in {directory} has no fast (Rust) implementation")
        return cls(
            pretrained.backend_tokenizer,
            max_seq_length=max_seq_length,
            pad_token_id=pretrained.pad_token_id,
            pad_token=pretrained.pad_token,
        )

    @property
    def special_tokens(self) -> int:
        """Tokens the tokenizer adds to every record ([CLS] and [SEP] for BERT)."""
        processor = self._counter.post_processor
        return processor.num_special_tokens_to_add(False) if processor is not None else 0

    @property
    def output_names(self) -> tuple[str, ...]:
        """The inputs a batch encoding can feed a model (its keys)."""
        return tuple(_ENCODING_ATTRIBUTES)

    @property
    def vocabulary_size(self) -> int:
        """Token ids run from 0 to this (added tokens included)."""
        return int(self._counter.get_vocab_size(with_added_tokens=True))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text as `encode` will give them (special tokens in, truncated), unpadded.

        The encodings are kept (`_EncodingMemo`) for `encode` to pad later.
        """
        texts = cut(texts, self.max_seq_length)
        encodings = self._counter.encode_batch_fast(texts)
        _MEMO.put(self._memo_key, texts, encodings)
        return [len(encoding.ids) for encoding in encodings]

    def encode(self, texts: Sequence[str], input_names: Sequence[str]) -> TokenizedBatch:
        was_cut = tuple(
            len(text) > self.max_seq_length * CHARACTERS_PER_TOKEN_BOUND for text in texts
        )
        texts = cut(texts, self.max_seq_length)
        batch = self._encode(texts, input_names)
        if any(was_cut):
            truncated = tuple(a or b for a, b in zip(batch.truncated, was_cut, strict=True))
            batch = dataclasses.replace(batch, truncated=truncated)
        return batch

    def _encode(self, texts: Sequence[str], input_names: Sequence[str]) -> TokenizedBatch:
        remembered = _MEMO.take(self._memo_key, texts)
        if remembered:
            return self._pad(remembered, input_names)
        encodings = self._tokenizer.encode_batch_fast(list(texts))
        arrays = {name: _column(encodings, name) for name in input_names}
        mask = arrays.get(ATTENTION_MASK)
        if mask is None:
            mask = _column(encodings, ATTENTION_MASK)
        return TokenizedBatch(
            arrays=arrays,
            real_tokens=int(mask.sum()),
            computed_tokens=int(mask.size),
            truncated=tuple(bool(encoding.overflowing) for encoding in encodings),
        )

    def _pad(self, encodings: Sequence[Encoding], input_names: Sequence[str]) -> TokenizedBatch:
        """What `encode` returns, from unpadded encodings of the same configuration."""
        lengths = [len(encoding.ids) for encoding in encodings]
        length = max(lengths)
        multiple = self._pad_to_multiple_of
        if multiple:
            length = -(-length // multiple) * multiple
        pads = {INPUT_IDS: self._pad_token_id, ATTENTION_MASK: 0, TOKEN_TYPE_IDS: 0}
        arrays = {name: _padded_column(encodings, name, length, pads[name]) for name in input_names}
        return TokenizedBatch(
            arrays=arrays,
            real_tokens=sum(lengths),
            computed_tokens=len(encodings) * length,
            truncated=tuple(bool(encoding.overflowing) for encoding in encodings),
        )


def read_pad_token(directory: Path) -> str:
    """The pad token named by `save_pretrained`'s config files ("[PAD]" for BERT)."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        path = directory / name
        if path.exists():
            token = json.loads(path.read_text(encoding="utf-8")).get("pad_token")
            if isinstance(token, dict):
                token = token.get("content")
            if token:
                return token
    raise ValueError(
        f"{directory} names no pad token (tokenizer_config.json: pad_token); "
        "save the tokenizer with a pad token set"
    )


def _column(encodings: Sequence[Encoding], name: str) -> np.ndarray:
    """One input of the whole batch as a (batch, sequence) int64 array."""
    attribute = _ENCODING_ATTRIBUTES[name]
    return np.asarray([getattr(encoding, attribute) for encoding in encodings], dtype=np.int64)


def _padded_column(
    encodings: Sequence[Encoding], name: str, length: int, pad_value: int
) -> np.ndarray:
    """One input of unpadded encodings, right-padded to `length` with `pad_value`."""
    attribute = _ENCODING_ATTRIBUTES[name]
    array = np.full((len(encodings), length), pad_value, dtype=np.int64)
    for row, encoding in enumerate(encodings):
        values = getattr(encoding, attribute)
        array[row, : len(values)] = values
    return array
