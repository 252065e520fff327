"""What the benchmark runs on: the models and the sentences.

Models (built offline, cached in the work directory):
- `demo`: the project's demo model (2-layer BERT, hidden 64), see `engine/demo_model.py`;
- `bert-base`: a BERT-base-shaped classifier (12 layers, hidden 768, 12 heads, intermediate
  3072, vocabulary 30522) with RANDOM weights, seeded. Its predictions mean nothing; its cost
  per token is that of any BERT-base classifier, which is what a speed benchmark needs.

Sentences: the demo corpus's words, with sentence lengths drawn from a log-normal
distribution shaped like SST-2 (the GLUE sentiment set of movie-review sentences): Kim
(2014, "Convolutional Neural Networks for Sentence Classification", table 1) gives an
average of 19 words for SST-2's sentences; BERT's WordPiece adds a few pieces for
punctuation and rare words and 2 special tokens. The generator aims at a mean of about 20
word pieces with a long tail clipped at 60, and `token_lengths` measures what the
tokenizer actually produced, which the report prints.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trt_text_classifier.model_tooling.demo_model import (
    LABELS,
    SEED,
    build_demo_model,
    build_vocabulary,
    read_corpus,
)

BERT_BASE_VOCABULARY = 30522
MAX_SENTENCE_WORDS = 44
"""Words per sentence at most: with [CLS] and [SEP], 60 word pieces for corpus words."""


@dataclass(frozen=True)
class Workload:
    """A model bundle (model.onnx + tokenizer + bundle.json) and how many sentences it gets."""

    name: str
    description: str
    bundle: Path
    sentences: int

    @property
    def onnx_path(self) -> Path:
        return self.bundle / "model.onnx"


def generate_sentences(count: int, seed: int = 0) -> list[str]:
    """`count` seeded sentences of corpus words, lengths log-normal (median 13.5 words)."""
    words = [word for _, sentence in read_corpus() for word in sentence.split()]
    generator = random.Random(seed)
    sentences = []
    for _ in range(count):
        length = min(MAX_SENTENCE_WORDS, max(3, round(generator.lognormvariate(2.6, 0.5))))
        sentences.append(" ".join(generator.choices(words, k=length)))
    return sentences


def token_lengths(tokenizer_directory: Path, sentences: Sequence[str]) -> np.ndarray:
    """Word pieces per sentence, special tokens included, as the model sees them."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_directory))
    encoded = tokenizer(list(sentences), truncation=True, max_length=512)["input_ids"]
    return np.array([len(ids) for ids in encoded])


def demo_workload(work: Path, sentences: int) -> Workload:
    bundle = work / "demo"
    if not (bundle / "model.onnx").exists():
        build_demo_model(str(bundle))
    return Workload("demo", "demo model (2 layers, hidden 64)", bundle, sentences)


def bert_base_workload(work: Path, sentences: int) -> Workload:
    bundle = work / "bert-base"
    if not (bundle / "model.onnx").exists():
        build_bert_base(bundle)
    return Workload(
        "bert-base", "BERT-base shape (12 layers, hidden 768), random weights", bundle, sentences
    )


def build_bert_base(output: Path) -> None:
    """Export a seeded, randomly initialised BERT-base-shaped classifier to `output`."""
    import tempfile

    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from trt_text_classifier.model_tooling.export import export_bundle

    torch.manual_seed(SEED)
    with tempfile.TemporaryDirectory() as staging:
        save_bert_base_tokenizer(staging)
        config = BertConfig(
            vocab_size=BERT_BASE_VOCABULARY,
            id2label=dict(enumerate(LABELS)),
            label2id={label: index for index, label in enumerate(LABELS)},
        )
        BertForSequenceClassification(config).eval().save_pretrained(staging)
        report = export_bundle(
            staging, str(output), source_name="BERT-base shape, random weights (benchmark)"
        )
    print(f"bert-base export: {report.describe()}")


def save_bert_base_tokenizer(directory: str) -> None:
    """The demo corpus's WordPiece vocabulary, filled with unused tokens up to BERT's 30522."""
    from tokenizers import BertWordPieceTokenizer, Tokenizer
    from transformers import BertTokenizerFast

    vocabulary = build_vocabulary([sentence for _, sentence in read_corpus()])
    for index in range(BERT_BASE_VOCABULARY - len(vocabulary)):
        vocabulary[f"[unused{index}]"] = len(vocabulary)
    wordpiece = BertWordPieceTokenizer(vocabulary, lowercase=True)
    BertTokenizerFast(
        tokenizer_object=Tokenizer.from_str(wordpiece.to_str()),
        do_lower_case=True,
        model_max_length=512,
    ).save_pretrained(directory)
