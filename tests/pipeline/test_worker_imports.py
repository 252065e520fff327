"""SDK worker processes load what the pipeline needs, not torch, and freeze it.

Beam's RunInference module imports its ModelManager, and the ModelManager imports torch
whenever torch is installed (as it is here, with the `export` extra): 1.2 s and a heap every
full garbage collection and the process's exit walk, in every SDK process. The package keeps
it out (`trt_text_classifier.defer_beam_model_manager`); this runs the real graph in separate
SDK processes and asks each one what it loaded, and whether its first model load froze
the heap for the garbage collector (`serving.worker_heap`).
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import apache_beam as beam
import pytest

from support.process_probes import PROBE_DIRECTORY_ENV, record, recorded
from support.repository import TEMPLATE, TESTS
from trt_text_classifier.launch.command_line import parse_pipeline_args
from trt_text_classifier.launch.options import make_pipeline_options
from trt_text_classifier.pipeline import build_pipeline
from trt_text_classifier.run import summarize


def report_imports(predictions: list) -> list:
    """Record, in the SDK process that classified them, whether torch is loaded there and
    whether its heap is frozen."""
    record("sdk")
    if "torch" in sys.modules:
        record("torch")
    if gc.get_freeze_count() > 0:
        record("frozen")
    return predictions


def test_sdk_processes_classify_without_importing_torch_and_with_a_frozen_heap(
    tmp_path: Path, demo_onnx: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Asked for here, not at module level: the SDK processes import this module (the probe).
    pytest.importorskip("torch", reason="the check needs torch installed, as the export extra does")
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv(PROBE_DIRECTORY_ENV, str(probes))
    inherited = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TEMPLATE), str(TESTS), inherited]))
    inputs = tmp_path / "in"
    inputs.mkdir()
    for part in range(4):
        lines = "".join(f"sentence {part} {line} was great\n" for line in range(50))
        (inputs / f"part-{part}.txt").write_text(lines, encoding="utf-8")
    params, beam_args = parse_pipeline_args(
        [
            f"--input={inputs / 'part-*.txt'}",
            f"--output={tmp_path / 'out' / 'predictions'}",
            f"--onnx_path={demo_onnx}",
            "--runner=DirectRunner",
            "--direct_num_workers=2",
            "--direct_running_mode=multi_processing",
        ]
    )
    pipeline = beam.Pipeline(options=make_pipeline_options(params, beam_args))
    outputs = build_pipeline(pipeline, params)
    _ = outputs.predictions | beam.Map(report_imports)
    result = pipeline.run()
    result.wait_until_finish()

    assert summarize(result).predictions == 200
    sdk_processes = set(recorded(probes, "sdk"))
    assert sdk_processes and os.getpid() not in sdk_processes
    assert recorded(probes, "torch") == []
    assert set(recorded(probes, "frozen")) == sdk_processes
