"""Whole-batch tokenization: padding to the batch's longest record, truncation counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trt_text_classifier.tokenization import BatchTokenizer

NAMES = ("input_ids", "token_type_ids", "attention_mask")


@pytest.fixture(scope="module")
def tokenizer(demo_bundle: Path) -> BatchTokenizer:
    return BatchTokenizer.from_pretrained(str(demo_bundle), max_seq_length=16)


def test_pads_to_the_longest_record_of_the_batch_not_to_max_seq_length(
    tokenizer: BatchTokenizer,
) -> None:
    batch = tokenizer.encode(["great film", "a dull and lifeless film"], NAMES)
    lengths = batch.arrays["attention_mask"].sum(axis=1)
    # [CLS] + words + [SEP]: every word of these sentences is in the demo vocabulary.
    assert lengths.tolist() == [4, 7]
    assert batch.shape == (2, 7)
    assert batch.real_tokens == 11
    assert batch.computed_tokens == 14
    assert batch.truncated == (False, False)


def test_all_inputs_are_int64_and_padding_is_masked(tokenizer: BatchTokenizer) -> None:
    batch = tokenizer.encode(["great film", "a dull and lifeless film"], NAMES)
    assert set(batch.arrays) == set(NAMES)
    assert all(array.dtype == np.int64 for array in batch.arrays.values())
    first = batch.arrays["input_ids"][0]
    assert first[4:].tolist() == [0, 0, 0]
    assert batch.arrays["token_type_ids"].tolist() == [[0] * 7, [0] * 7]


def test_truncates_at_max_seq_length_and_reports_which_records(tokenizer: BatchTokenizer) -> None:
    long_text = " ".join(["film"] * 40)
    batch = tokenizer.encode(["great film", long_text], NAMES)
    assert batch.shape == (2, 16)
    assert batch.truncated == (False, True)
    assert batch.arrays["input_ids"][1, -1] == batch.arrays["input_ids"][0, 3]  # ends with [SEP]


def test_only_the_requested_inputs_are_returned(tokenizer: BatchTokenizer) -> None:
    batch = tokenizer.encode(["great film"], ("input_ids", "attention_mask"))
    assert set(batch.arrays) == {"input_ids", "attention_mask"}
