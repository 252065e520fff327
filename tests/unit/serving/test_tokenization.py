"""Whole-batch tokenization: padding to the batch's longest record, truncation counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trt_text_classifier.serving.tokenization import BatchTokenizer

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


SENTENCES = [
    "A moving, funny film.",
    "the plot was dull and predictable, though the lead actor's charm almost saved it",
    "Ünïcödé and emoji 🙂 go to [UNK] pieces",
]


def test_reads_tokenizer_json_alone_and_matches_transformers(demo_bundle: Path) -> None:
    from transformers import AutoTokenizer

    ours = BatchTokenizer.from_pretrained(str(demo_bundle), max_seq_length=16)
    reference = AutoTokenizer.from_pretrained(str(demo_bundle))(
        SENTENCES, padding=True, truncation=True, max_length=16, return_tensors="np"
    )
    batch = ours.encode(SENTENCES, ["input_ids", "attention_mask", "token_type_ids"])
    for name, array in batch.arrays.items():
        assert array.tolist() == reference[name].tolist(), name
    assert ours.count_tokens(SENTENCES) == reference["attention_mask"].sum(axis=1).tolist()


def test_a_directory_without_tokenizer_json_is_converted_by_transformers(
    demo_bundle: Path, tmp_path: Path
) -> None:
    from tokenizers import Tokenizer

    vocabulary = Tokenizer.from_file(str(demo_bundle / "tokenizer.json")).get_vocab()
    slow_only = tmp_path / "slow"
    slow_only.mkdir()
    (slow_only / "vocab.txt").write_text("\n".join(sorted(vocabulary, key=vocabulary.get)) + "\n")
    (slow_only / "tokenizer_config.json").write_text(
        (demo_bundle / "tokenizer_config.json").read_text()
    )
    converted = BatchTokenizer.from_pretrained(str(slow_only), max_seq_length=16)
    direct = BatchTokenizer.from_pretrained(str(demo_bundle), max_seq_length=16)
    names = ["input_ids", "attention_mask"]
    assert not (slow_only / "tokenizer.json").exists()
    assert converted.encode(SENTENCES, names).arrays["input_ids"].tolist() == (
        direct.encode(SENTENCES, names).arrays["input_ids"].tolist()
    )


def test_a_tokenizer_without_a_pad_token_is_refused_with_the_fix(
    demo_bundle: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "no-pad"
    directory.mkdir()
    (directory / "tokenizer.json").write_text((demo_bundle / "tokenizer.json").read_text())
    (directory / "tokenizer_config.json").write_text('{"cls_token": "[CLS]"}')
    with pytest.raises(ValueError, match="names no pad token"):
        BatchTokenizer.from_pretrained(str(directory), max_seq_length=16)


def test_a_directory_with_no_tokenizer_names_itself_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"no tokenizer could be loaded from .*empty.*save_pretrained"
    ):
        BatchTokenizer.from_pretrained(str(tmp_path / "empty"), max_seq_length=16)


@pytest.mark.parametrize("multiple", [None, 8])
def test_a_batch_counted_first_is_padded_from_the_counting_pass_exactly_as_encoded(
    demo_bundle: Path, multiple: int | None
) -> None:
    """Ordering counts tokens first; the batch it forms must get the same arrays as a fresh encode."""
    from tokenizers import Tokenizer

    source = Tokenizer.from_file(str(demo_bundle / "tokenizer.json"))
    pad_token = "[PAD]"

    def make() -> BatchTokenizer:
        return BatchTokenizer(
            source,
            max_seq_length=16,
            pad_token_id=source.token_to_id(pad_token),
            pad_token=pad_token,
            pad_to_multiple_of=multiple,
        )

    texts = [
        "A warm and funny film.",
        "dull " * 40,
        "Clever, charming and full of surprises.",
        "A warm and funny film.",
    ]
    names = ("input_ids", "attention_mask", "token_type_ids")
    counting, fresh = make(), make()
    counting.count_tokens(texts)
    reused = counting.encode(texts, names)
    counting.count_tokens(["something else"])
    expected = fresh.encode(texts, names)
    assert {name: array.tolist() for name, array in reused.arrays.items()} == {
        name: array.tolist() for name, array in expected.arrays.items()
    }
    assert all(array.dtype == np.int64 for array in reused.arrays.values())
    assert (reused.real_tokens, reused.computed_tokens, reused.truncated) == (
        expected.real_tokens,
        expected.computed_tokens,
        expected.truncated,
    )
    assert reused.truncated == (False, True, False, False)


def test_the_encoding_memo_holds_the_largest_ordering_window_and_one_chunk() -> None:
    # Smaller, the batches of a GPU-sized window miss the memo and are tokenized twice.
    from trt_text_classifier.io.text_files import SPREAD_CHUNK
    from trt_text_classifier.serving.batch_sizes import GPU_LENGTH_ORDER_BATCHES, GPU_MAX_BATCH_SIZE
    from trt_text_classifier.serving.length_ordering import LENGTH_ORDER_BATCHES
    from trt_text_classifier.serving.tokenization import REMEMBERED_ENCODINGS

    largest_window = max(GPU_MAX_BATCH_SIZE * GPU_LENGTH_ORDER_BATCHES, 64 * LENGTH_ORDER_BATCHES)
    assert largest_window + SPREAD_CHUNK <= REMEMBERED_ENCODINGS
