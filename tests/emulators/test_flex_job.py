"""The Dataflow job the template submits, written offline with --template_location.

Beam's DataflowRunner writes the complete job JSON instead of submitting it
when given a local --template_location. Staging goes to the GCS emulator. The
engine there is a placeholder and the tokenizer does not exist: the job is
built all the same, so graph construction downloads no model or tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.emulators import GcsEmulator
from support.flex_sidecars import l4_sidecar, upload_engine, upload_tokenizer

IMAGE = "us-central1-docker.pkg.dev/my-project-123/dataflow/trt-text-classifier:abc123"


@pytest.fixture(scope="module")
def job(
    gcs_emulator: GcsEmulator, demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    from trt_text_classifier.run import run_pipeline

    gcs_emulator.write("flex-job/in/reviews.txt", b"great movie\nterrible plot\n")
    engine = upload_engine(gcs_emulator, "flex-job/engines/sst2.plan", l4_sidecar())
    upload_tokenizer(gcs_emulator, "flex-job/engines/sst2.plan", demo_bundle)
    bucket = gcs_emulator.url("flex-job")
    job_file = tmp_path_factory.mktemp("job") / "job.json"
    run_pipeline(
        [
            f"--input={bucket}/in/*.txt",
            f"--output={bucket}/out/predictions",
            f"--engine_path={engine}",
            "--accelerator=type:nvidia-l4;count:1;install-nvidia-driver",
            "--max_batch_size=32",
            f"--sdk_container_image={IMAGE}",
            "--runner=DataflowRunner",
            "--project=my-project-123",
            "--region=us-central1",
            f"--temp_location={bucket}/tmp",
            f"--template_location={job_file}",
        ],
        wait=False,
    )
    return json.loads(job_file.read_text())


def test_job_requests_the_gpu_through_the_service_option(job: dict) -> None:
    assert job["environment"]["serviceOptions"] == [
        "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver"
    ]


def test_job_runs_the_template_image_on_the_default_machine_for_one_l4(job: dict) -> None:
    (pool,) = job["environment"]["workerPools"]
    assert pool["machineType"] == "g2-standard-8"
    assert pool["diskSizeGb"] == 50
    images = [env["containerImage"] for env in pool["sdkHarnessContainerImages"]]
    assert images == [IMAGE]


def test_job_uses_runner_v2_and_one_sdk_process_per_vcpu(job: dict) -> None:
    """Each vCPU's SDK process tokenizes; the engine is shared per worker by the handler."""
    experiments = job["environment"]["experiments"]
    assert "use_runner_v2" in experiments
    assert "no_use_multiple_sdk_containers" not in experiments
