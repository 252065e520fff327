"""Tiny random classifiers of each encoder family, built offline the way a user's checkpoint looks.

Each family gets a tokenizer trained here with `tokenizers` on the demo corpus
(WordPiece for BERT and DistilBERT, byte-level BPE for RoBERTa, a Unigram
model for XLM-R) and a randomly initialised model of a small config, both
written with `save_pretrained`: exactly what `export --model DIR` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trt_text_classifier.model_tooling.export import ParityReport

LABELS = ("sad", "neutral", "happy")
MULTI_LABELS = ("toxic", "funny", "long", "about_acting")
SMALL = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "initializer_range": 0.5,
}
"""Weights far larger than a real initialisation: the logits then differ between texts, so a
wrong token, position or padding changes the answer by much more than float noise."""
VOCABULARY_SIZE = 400


def corpus() -> list[str]:
    from trt_text_classifier.model_tooling.demo_model import read_corpus

    return [sentence for _, sentence in read_corpus()]


def wordpiece() -> object:
    from tokenizers import BertWordPieceTokenizer, Tokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(
        corpus(),
        vocab_size=VOCABULARY_SIZE,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    return Tokenizer.from_str(trainer.to_str())


ROBERTA_SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
"""In RoBERTa's order: <pad> is id 1, which is also the position embeddings' padding index."""


def byte_level_bpe() -> object:
    from tokenizers import ByteLevelBPETokenizer, Tokenizer
    from tokenizers.processors import RobertaProcessing

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        corpus(),
        vocab_size=VOCABULARY_SIZE,
        special_tokens=ROBERTA_SPECIAL_TOKENS,
        show_progress=False,
    )
    trainer.post_processor = RobertaProcessing(
        ("</s>", trainer.token_to_id("</s>")), ("<s>", trainer.token_to_id("<s>"))
    )
    return Tokenizer.from_str(trainer.to_str())


def unigram() -> object:
    from tokenizers import SentencePieceUnigramTokenizer, Tokenizer
    from tokenizers.processors import TemplateProcessing

    trainer = SentencePieceUnigramTokenizer()
    trainer.train_from_iterator(
        corpus(),
        vocab_size=VOCABULARY_SIZE,
        special_tokens=ROBERTA_SPECIAL_TOKENS,
        unk_token="<unk>",
        show_progress=False,
    )
    start, end = trainer.token_to_id("<s>"), trainer.token_to_id("</s>")
    trainer.post_processor = TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", start), ("</s>", end)],
    )
    return Tokenizer.from_str(trainer.to_str())


@dataclass(frozen=True)
class Family:
    """How to build one family's tokenizer and model; what its bundle must say."""

    name: str
    train_tokenizer: Callable[[], object]
    tokenizer_class: str
    model_class: str
    config: Callable[[int, dict], object]
    input_names: tuple[str, ...]
    usable_positions: int


def _bert_config(vocab_size: int, labels: dict) -> object:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size, intermediate_size=64, max_position_embeddings=512, **SMALL, **labels
    )


def _distilbert_config(vocab_size: int, labels: dict) -> object:
    from transformers import DistilBertConfig

    return DistilBertConfig(
        vocab_size=vocab_size,
        dim=32,
        n_layers=1,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=512,
        initializer_range=SMALL["initializer_range"],
        **labels,
    )


def _roberta_config(vocab_size: int, labels: dict) -> object:
    from transformers import RobertaConfig

    return RobertaConfig(
        vocab_size=vocab_size,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        **SMALL,
        **labels,
    )


def _xlm_roberta_config(vocab_size: int, labels: dict) -> object:
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=vocab_size,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        **SMALL,
        **labels,
    )


BERT_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
MASKED_INPUTS = ("input_ids", "attention_mask")

FAMILIES = {
    family.name: family
    for family in (
        Family("bert", wordpiece, "BertTokenizerFast", "BertForSequenceClassification",
               _bert_config, BERT_INPUTS, 512),
        Family("distilbert", wordpiece, "DistilBertTokenizerFast",
               "DistilBertForSequenceClassification", _distilbert_config, MASKED_INPUTS, 512),
        Family("roberta", byte_level_bpe, "RobertaTokenizerFast",
               "RobertaForSequenceClassification", _roberta_config, MASKED_INPUTS, 512),
        Family("xlm-roberta", unigram, "XLMRobertaTokenizerFast",
               "XLMRobertaForSequenceClassification", _xlm_roberta_config, MASKED_INPUTS, 512),
    )
}  # fmt: skip


def label_arguments(labels: tuple[str, ...], problem_type: str | None) -> dict:
    arguments: dict = {
        "id2label": dict(enumerate(labels)),
        "label2id": {label: index for index, label in enumerate(labels)},
    }
    if problem_type is not None:
        arguments["problem_type"] = problem_type
    return arguments


def save_tiny_model(
    family: Family,
    directory: Path,
    *,
    seed: int = 13,
    labels: tuple[str, ...] = LABELS,
    problem_type: str | None = None,
) -> Path:
    """A randomly initialised `family` classifier and its tokenizer, saved with save_pretrained."""
    import torch
    import transformers

    torch.manual_seed(seed)
    tokenizer = getattr(transformers, family.tokenizer_class)(
        tokenizer_object=family.train_tokenizer()
    )
    config = family.config(len(tokenizer), label_arguments(labels, problem_type))
    model = getattr(transformers, family.model_class)(config)
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


@dataclass(frozen=True)
class TinyBundle:
    """A tiny model of one family: its save_pretrained directory, its exported bundle, the parity."""

    pretrained: Path
    bundle: Path
    parity: ParityReport

    @property
    def onnx(self) -> str:
        return str(self.bundle / "model.onnx")


def export_tiny_model(directory: Path, family: str, **options: object) -> TinyBundle:
    from trt_text_classifier.model_tooling.export import export_bundle

    pretrained = save_tiny_model(FAMILIES[family], directory / "pretrained", **options)
    parity = export_bundle(str(pretrained), str(directory / "bundle"))
    return TinyBundle(pretrained, directory / "bundle", parity)
