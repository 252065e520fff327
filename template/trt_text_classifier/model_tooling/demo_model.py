"""A small, seeded BERT classifier built offline, so everything runs without downloads.

THE DEMO MODEL'S PREDICTIONS MEAN NOTHING. It is a 2-layer BERT with a
WordPiece vocabulary built from the 60 sentences the project ships
(`demo/corpus.txt`) and fitted to them for a few steps: it exercises every
code path (tokenizer, ONNX export, ONNX Runtime, TensorRT builds) with the
same inputs and outputs as a real BERT classifier. It is not a sentiment model.

Same command, same weights: seeds are fixed, training is single-threaded
with deterministic kernels.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from importlib import resources

import torch

from trt_text_classifier.model_tooling.export import ParityReport, export_bundle

SEED = 20261124
LABELS = ("negative", "positive")
TRAINING_STEPS = 60
DEMO_SOURCE = "trt-text-classifier demo model (seeded, offline)"


def read_corpus() -> list[tuple[str, str]]:
    """(label, sentence) pairs of the shipped corpus."""
    text = resources.files(__package__).joinpath("demo/corpus.txt").read_text("utf-8")
    pairs = (line.split("\t", 1) for line in text.splitlines() if line.strip())
    return [(label, sentence) for label, sentence in pairs]


SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_vocabulary(sentences: list[str]) -> dict[str, int]:
    """A WordPiece vocabulary: every corpus word whole, plus its characters as pieces.

    Built deterministically (the `tokenizers` WordPiece trainer breaks ties in
    hash order, so two runs can differ). Words outside the corpus fall back to
    character pieces, as with any WordPiece vocabulary.
    """
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    normalizer, splitter = BertNormalizer(lowercase=True), BertPreTokenizer()
    words = Counter(
        word
        for sentence in sentences
        for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(sentence))
    )
    characters = sorted({character for word in words for character in word})
    tokens = [
        *SPECIAL_TOKENS,
        *characters,
        *(f"##{character}" for character in characters),
        *sorted(words, key=lambda word: (-words[word], word)),
    ]
    return {token: index for index, token in enumerate(dict.fromkeys(tokens))}


def train_tokenizer(sentences: list[str], directory: str):
    """A lower-cased BERT WordPiece tokenizer for the corpus, saved with save_pretrained."""
    from tokenizers import BertWordPieceTokenizer, Tokenizer
    from transformers import BertTokenizerFast

    wordpiece = BertWordPieceTokenizer(build_vocabulary(sentences), lowercase=True)
    tokenizer = BertTokenizerFast(
        tokenizer_object=Tokenizer.from_str(wordpiece.to_str()),
        do_lower_case=True,
        model_max_length=512,
    )
    tokenizer.save_pretrained(directory)
    return tokenizer


def make_model(vocab_size: int):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
        id2label=dict(enumerate(LABELS)),
        label2id={label: index for index, label in enumerate(LABELS)},
    )
    return BertForSequenceClassification(config)


def fit(model, tokenizer, corpus: list[tuple[str, str]]) -> None:
    """A few full-batch steps so the demo's labels are not all the same."""
    batch = tokenizer([sentence for _, sentence in corpus], padding=True, return_tensors="pt")
    targets = torch.tensor([LABELS.index(label) for label, _ in corpus])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(TRAINING_STEPS):
        optimizer.zero_grad()
        loss = model(**batch, labels=targets).loss
        loss.backward()
        optimizer.step()
    model.eval()


def build_demo_model(output_dir: str) -> ParityReport:
    """Write the demo bundle (model.onnx, bundle.json, tokenizer) into `output_dir`."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        corpus = read_corpus()
        with tempfile.TemporaryDirectory() as staging:
            tokenizer = train_tokenizer([sentence for _, sentence in corpus], staging)
            model = make_model(len(tokenizer))
            fit(model, tokenizer, corpus)
            model.save_pretrained(staging)
            return export_bundle(staging, output_dir, demo=True, source_name=DEMO_SOURCE)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)
