"""`launch --dry-run` prints the worker's hourly price and the estimate per million sentences."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from trt_text_classifier.commands import launch
from trt_text_classifier.dataflow.gpu_catalog import GPU_TYPES
from trt_text_classifier.dataflow.prices import markdown_table, price_table, worker_price
from trt_text_classifier.launch.template_parameters import gcloud_parameters_flag

ROOT = Path(__file__).resolve().parents[3]
BASE = {"input": "gs://my-bucket/reviews/*.txt", "output": "gs://my-bucket/results/predictions"}


def dry_run(values: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    status = launch.main(
        [
            "--project=my-project", "--region=us-central1", "--job-name=classify-1",
            "--template=gs://my-bucket/templates/trt.json", "--dry-run", "--no-io",
            "--parameters", gcloud_parameters_flag(values),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out, captured.err


def test_dry_run_prints_the_hourly_price_and_the_estimate_with_date_and_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    h100 = "type:nvidia-h100-80gb;count:1;install-nvidia-driver"
    out, err = dry_run(
        {**BASE, "engine_path": "gs://my-bucket/e/x.plan", "accelerator": h100}, capsys
    )
    assert "cost" not in out  # stdout stays the request and the gcloud command
    table = price_table()
    assert f"as recorded on {table['recorded']}" in err
    assert "https://cloud.google.com/dataflow/pricing" in err
    price = worker_price("a3-highgpu-1g", "nvidia-h100-80gb", 1)
    assert price and price.hour
    assert re.search(
        rf"worker a3-highgpu-1g \(26 vCPU, 234 GB\) \+ 1 x nvidia-h100-80gb \+ 50 GB pd-standard: "
        rf"\${price.hour:.3f}/hour per worker",
        err,
    )
    measured = table["measured_throughput"]["nvidia-h100-80gb"]["sentences_per_s"]
    per_million = price.hour / (measured * 3600) * 1e6
    assert f"per million sentences: about ${per_million:.3f}" in err
    assert "an estimate from benchmarks/results/gpu-throughput.json" in err
    assert "Cloud Build (cloudbuild.yaml): E2_HIGHCPU_32, 300 GB disk" in err
    assert "image every worker pulls: size unknown" in err


def test_a_gpu_without_a_measurement_says_the_estimate_is_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    l4 = "type:nvidia-l4;count:1;install-nvidia-driver"
    _, err = dry_run(
        {**BASE, "onnx_path": "gs://my-bucket/m/model.onnx", "accelerator": l4}, capsys
    )
    assert "worker g2-standard-8 (8 vCPU, 32 GB) + 1 x nvidia-l4" in err
    assert "per million sentences: unknown (no throughput measured for nvidia-l4" in err


def test_the_table_copies_the_results_and_cloudbuild_it_names() -> None:
    table = price_table()
    for gpu, measured in table["measured_throughput"].items():
        assert gpu in GPU_TYPES
        results = json.loads((ROOT / measured["source"]).read_text())
        assert measured["sentences_per_s"] == results["pipeline_sentences_per_s"]
        assert measured["wall_sentences_per_s"] == results["pipeline_wall_sentences_per_s"]
        assert measured["date"] == results["date"]
    options = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())["options"]
    assert table["cloud_build"]["machine"] == options["machineType"]
    assert table["cloud_build"]["disk_gb"] == options["diskSizeGb"]
    runnable = {name for name, gpu in GPU_TYPES.items() if gpu.compute_capability >= (7, 5)}
    assert runnable == set(table["gpu_hour"])
    for gpu in runnable:
        for machine in GPU_TYPES[gpu].default_machine_types.values():
            assert worker_price(machine, gpu, 1) is not None, machine


def test_the_docs_price_table_is_the_generated_one() -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- prices:begin .*?-->\n(.*?)<!-- prices:end -->", page, re.DOTALL)
    assert match and match.group(1) == markdown_table()
