"""The engine cache on Cloud Storage (the GCS emulator, a real server), with real TensorRT-RTX
builds: workers started together build once, and `validate` says hit or miss.

The emulator ignores generation preconditions, which the claim protocol relies on; the
tests install them first (`support.gcs_preconditions`: a 412 unless the object's
generation matches, as Cloud Storage does).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from support.emulators import GCS_BUCKET, GcsEmulator
from support.flex_sidecars import IMAGE_TENSORRT
from support.gcs_preconditions import honour_generation_preconditions
from trt_text_classifier.commands import build_engine as build_engine_command
from trt_text_classifier.commands import engine_cache as engine_cache_command
from trt_text_classifier.commands import launch, validate
from trt_text_classifier.launch.template_parameters import gcloud_parameters_flag
from trt_text_classifier.model_tooling.engine_build import (
    CacheBuilder,
)
from trt_text_classifier.serving.engine_cache import CLAIM_FILE, ENTRY_FILE, EngineCache
from trt_text_classifier.serving.engine_cache_key import worker_build_settings
from trt_text_classifier.sidecar import Builder, BuildSettings, EngineSidecar, GpuTarget

L4_ACCELERATOR = "type:nvidia-l4;count:1;install-nvidia-driver"
L4 = GpuTarget("NVIDIA L4", "8.9")


@pytest.fixture(scope="module")
def gcs(gcs_emulator: GcsEmulator) -> GcsEmulator:
    honour_generation_preconditions()
    return gcs_emulator


@pytest.fixture(scope="module")
def gcs_onnx(gcs: GcsEmulator, demo_bundle: Path) -> str:
    return gcs.upload_directory(str(demo_bundle), "engine-cache/models/demo") + "/model.onnx"


def test_four_workers_on_cloud_storage_build_once(gcs: GcsEmulator, gcs_onnx: str) -> None:
    from unit.serving.test_engine_cache import results, start_worker

    cache = gcs.url("engine-cache/together/")
    start_at = time.time() + 15
    processes = [start_worker(cache, gcs_onnx, start_at) for _ in range(4)]
    reports = [results(process)[0] for process in processes]

    assert sorted(report["outcome"] for report in reports).count("built") == 1
    assert sum(report["metrics"]["builds"] for report in reports) == 1
    assert len({report["engine_sha256"] for report in reports}) == 1
    assert len({report["sidecar_sha256"] for report in reports}) == 1
    folder = reports[0]["entry"]
    objects = gcs.read_matching(f"engine-cache/together/{folder}/")
    record = json.loads(objects[f"engine-cache/together/{folder}/{ENTRY_FILE}"])
    builder = next(report for report in reports if report["outcome"] == "built")
    assert record["built_by"] == builder["worker"] == record["claim"]["worker"]
    assert f"engine-cache/together/{folder}/{CLAIM_FILE}" not in objects
    engines = [name for name in objects if name.endswith(".plan")]
    assert engines == [f"engine-cache/together/{folder}/{record['engine_file']}"]


def test_a_claim_is_taken_over_only_once(gcs: GcsEmulator) -> None:
    """Two takers of one stale generation: the second write's precondition fails."""
    cache = EngineCache(gcs.url("engine-cache/takeover/"))
    store = cache.store
    generation = store.create("entry/claim.json", b'{"worker": "dead"}')
    assert generation is not None
    assert store.create("entry/claim.json", b'{"worker": "second"}') is None
    assert store.replace("entry/claim.json", b'{"worker": "a"}', generation) is not None
    assert store.replace("entry/claim.json", b'{"worker": "b"}', generation) is None
    found = store.read("entry/claim.json")
    assert found is not None and json.loads(found[0]) == {"worker": "a"}


@dataclasses.dataclass(frozen=True)
class ImageVersionBuilder(CacheBuilder):
    """Keys entries as the image's TensorRT (what a worker of the job would build with), but
    builds with TensorRT-RTX on this CPU: the cache and the launch's key are what is tested."""

    @property
    def library(self) -> Builder:
        return "tensorrt"

    @property
    def version(self) -> str:
        return IMAGE_TENSORRT

    @property
    def has_timing_cache(self) -> bool:
        return False

    def build(
        self,
        onnx_path: str,
        engine_path: str,
        gpu: GpuTarget,
        settings: BuildSettings,
        timing_cache: str | None,
    ) -> EngineSidecar:
        fp32 = dataclasses.replace(settings, precision="fp32")
        return CacheBuilder("tensorrt-rtx").build(onnx_path, engine_path, gpu, fp32, None)


def job_values(gcs: GcsEmulator, gcs_onnx: str, cache: str) -> dict[str, str]:
    gcs.write("engine-cache/in/a.txt", b"fine\n")
    return {
        "input": f"gs://{GCS_BUCKET}/engine-cache/in/*.txt",
        "output": f"gs://{GCS_BUCKET}/engine-cache/out/p",
        "onnx_path": gcs_onnx,
        "engine_cache": cache,
        "accelerator": L4_ACCELERATOR,
        "max_batch_size": "4",
        "max_seq_length": "16",
    }


def test_validate_and_dry_run_say_miss_then_hit(
    gcs: GcsEmulator, gcs_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = gcs.url("engine-cache/launch/")
    values = job_values(gcs, gcs_onnx, cache)
    assert validate.main(["--parameters", gcloud_parameters_flag(values)]) == 0
    out = capsys.readouterr().out
    miss = [line for line in out.splitlines() if line.startswith("engine cache: ")]
    assert len(miss) == 1 and miss[0].startswith("engine cache: miss: no engine for NVIDIA L4")
    assert f"tensorrt {IMAGE_TENSORRT}" in miss[0] and "the first worker will build it" in miss[0]

    settings = worker_build_settings(4, 16)
    engine, _ = EngineCache(cache).obtain(gcs_onnx, L4, settings, ImageVersionBuilder())
    assert engine.outcome == "built"

    assert validate.main(["--parameters", gcloud_parameters_flag(values)]) == 0
    hit = [line for line in capsys.readouterr().out.splitlines() if "engine cache:" in line]
    assert hit == [
        f"engine cache: hit: engine for NVIDIA L4, TensorRT {IMAGE_TENSORRT}, built "
        f"{engine.entry_record['built_at']} by {engine.entry_record['built_by']} ({engine.entry})"
    ]
    status = launch.main(
        [
            "--project", "p", "--region", "us-central1", "--job-name", "j",
            "--template", f"gs://{GCS_BUCKET}/t.json", "--dry-run",
            "--parameters", gcloud_parameters_flag(values),
        ]
    )  # fmt: skip
    assert status == 0
    assert hit[0] in capsys.readouterr().out.splitlines()


def test_a_cache_in_a_missing_bucket_is_refused_in_one_line(
    gcs: GcsEmulator, gcs_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    values = job_values(gcs, gcs_onnx, "gs://no-such-bucket-here/cache/")
    assert validate.main(["--parameters", gcloud_parameters_flag(values)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("error: --engine_cache='gs://no-such-bucket-here/cache/': ")
    assert "does not exist" in err


def test_build_engine_fills_the_cache_and_list_shows_it(
    gcs: GcsEmulator, gcs_onnx: str, demo_onnx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = gcs.url("engine-cache/ahead/")
    args = [
        "--onnx", demo_onnx, "--engine_cache", cache, "--builder", "tensorrt-rtx",
        "--gpu", "nvidia-l4", "--precision", "fp32", "--batch", "1,2,4", "--seq", "1,8,16",
        "--workspace-mib", "256",
    ]  # fmt: skip
    assert build_engine_command.main(args) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith(f"engine cache: built: {cache}")
    assert "engine for NVIDIA L4, TensorRT-RTX" in first
    assert build_engine_command.main(args) == 0
    assert capsys.readouterr().out.startswith(f"engine cache: found: {cache}")

    assert engine_cache_command.main(["list", cache]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert "NVIDIA L4 (compute capability 8.9)  tensorrt-rtx 1." in lines[0]
    assert "MiB  built 20" in lines[0]


def test_build_engine_processes_started_together_build_once(
    gcs: GcsEmulator, demo_onnx: str
) -> None:
    import os
    import sys

    from unit.serving.test_engine_cache import ROOT

    cache = gcs.url("engine-cache/cli-together/")
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "template"), str(ROOT / "tests")]),
    }
    command = [
        sys.executable, "-c",
        "from apache_beam.internal.gcp import auth; auth._Credentials._credentials_init = True; "
        "import sys; from trt_text_classifier.cli import main; sys.exit(main(sys.argv[1:]))",
        "build-engine", "--onnx", demo_onnx, "--engine_cache", cache, "--builder",
        "tensorrt-rtx", "--gpu", "nvidia-l4", "--precision", "fp32", "--batch", "1,2,4",
        "--seq", "1,8,16", "--workspace-mib", "256",
    ]  # fmt: skip
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
        for _ in range(3)
    ]
    outputs: list[Any] = [process.communicate(timeout=240)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    words = sorted(output.split(":")[1].strip() for output in outputs)
    assert words.count("built") == 1, outputs
    assert set(words) <= {"built", "found", "waited"}
