"""`validate` and `launch --dry-run`: the launch checks, offline, with the launch's messages."""

from __future__ import annotations

import json
import pathlib

import pytest

from support.emulators import GCS_BUCKET, GcsEmulator
from support.flex_sidecars import IMAGE_TENSORRT, l4_sidecar, upload_engine, upload_tokenizer
from trt_text_classifier.commands import launch, validate
from trt_text_classifier.launch.console_form import JobMode
from trt_text_classifier.launch.metadata import template_metadata
from trt_text_classifier.launch.template_parameters import (
    gcloud_parameters_flag,
    parse_parameters_flag,
)

L4 = "type:nvidia-l4;count:1;install-nvidia-driver"
VALID = {
    "input": "gs://my-bucket/reviews/*.txt",
    "output": "gs://my-bucket/results/predictions",
    "engine_path": "gs://my-bucket/engines/sst2-l4-fp16.plan",
    "accelerator": L4,
}


def run_validate(values: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = validate.main(["--no-io", "--parameters", gcloud_parameters_flag(values)])
    captured = capsys.readouterr()
    return status, captured.err.strip()


@pytest.mark.parametrize("mode", JobMode, ids=[mode.value for mode in JobMode])
def test_documented_examples_of_each_template_are_valid(
    mode: JobMode, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = {
        entry["name"]: entry["helpText"].rpartition(" Example: ")[2]
        for entry in template_metadata(mode=mode)["parameters"]
    }
    del examples["onnx_path"]  # the examples name both models; a launch gives one
    del examples["engine_cache"]  # goes with onnx_path (the workers build the engine)
    assert run_validate(examples, capsys) == (0, "")


def test_valid_set_reports_the_workers(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate.main(["--no-io", "--parameters", gcloud_parameters_flag(VALID)]) == 0
    assert capsys.readouterr().out == (f"workers: g2-standard-8 with {L4}\nparameters are valid\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"input": "my-bucket/reviews/*.txt"},
            "--input='my-bucket/reviews/*.txt': does not match "
            r"^gs://[a-z0-9][-_.a-z0-9]{1,61}[a-z0-9]/[^\s]+$ (the Dataflow service refuses it "
            "before launching); e.g. gs://my-bucket/reviews/*.txt",
        ),
        (
            {"accelerator": "type:nvidia-l4;count:1"},
            "--accelerator='type:nvidia-l4;count:1': install-nvidia-driver is missing (without "
            "it the workers have no GPU driver); write it as "
            "'type:nvidia-l4;count:1;install-nvidia-driver'",
        ),
        (
            {"accelerator": "type:nvidia-k80;count:1;install-nvidia-driver"},
            "--accelerator: unknown GPU type 'nvidia-k80'; use one of nvidia-tesla-t4, nvidia-l4, "
            "nvidia-tesla-a100, nvidia-a100-80gb, nvidia-h100-80gb, nvidia-h100-mega-80gb, "
            "nvidia-rtx-pro-6000",
        ),
        (
            {"accelerator": "type:nvidia-tesla-v100;count:1;install-nvidia-driver"},
            "--accelerator: nvidia-tesla-v100 has compute capability 7.0; TensorRT 10 and later "
            "need 7.5 or newer; use nvidia-tesla-t4 (n1) or nvidia-l4 (g2)",
        ),
        (
            {"machine_type": "n1-standard-8"},
            "--machine_type='n1-standard-8': nvidia-l4 attaches only to G2 machines; use "
            "'g2-standard-8' or leave machine_type empty",
        ),
        (
            {"accelerator": "type:nvidia-tesla-t4;count:3;install-nvidia-driver"},
            "--accelerator: count:3 is not possible for nvidia-tesla-t4; use one of 1, 2, 4",
        ),
        (
            {
                "accelerator": "type:nvidia-l4;count:2;install-nvidia-driver",
                "machine_type": "g2-standard-8",
            },
            "--accelerator: count:2 does not match --machine_type='g2-standard-8', which has 1 "
            "nvidia-l4 GPU(s); use count:1 or machine type 'g2-standard-24'",
        ),
        (
            {
                "accelerator": "type:nvidia-tesla-t4;count:1;install-nvidia-driver",
                "machine_type": "n1-standard-64",
            },
            "--machine_type='n1-standard-64': with 1 nvidia-tesla-t4 GPU(s) an N1 machine may "
            "have at most 48 vCPUs; use 'n1-standard-8' or more GPUs",
        ),
        (
            {"onnx_path": "gs://my-bucket/models/sst2/model.onnx"},
            "--onnx_path / --engine_path: give exactly one model (both were given); --onnx_path "
            "serves with ONNX Runtime, --engine_path with TensorRT",
        ),
        (
            {"engine_path": ""},
            "--onnx_path / --engine_path: give exactly one model (neither was given); "
            "--onnx_path serves with ONNX Runtime, --engine_path with TensorRT",
        ),
        (
            {"max_batch_size": "5000"},
            "--max_batch_size='5000': Input should be less than or equal to 4096",
        ),
        (
            {"max_seq_length": "0"},
            "--max_seq_length='0': Input should be greater than or equal to 3",
        ),
        (
            {"accelerator": ""},
            "--accelerator: required with --engine_path on Dataflow (TensorRT needs GPU "
            "workers); e.g. type:nvidia-l4;count:1;install-nvidia-driver",
        ),
        (
            {"machine_type": "G2-STANDARD-8"},
            r"--machine_type='G2-STANDARD-8': does not match ^[a-z][a-z0-9]*(-[a-z0-9]+)+$ (the "
            "Dataflow service refuses it before launching); e.g. g2-standard-8",
        ),
        (
            {"region": "us-central1"},
            "--region: not a template parameter; Dataflow sets it from the launch command (e.g. "
            "gcloud dataflow flex-template run --region, --staging-location)",
        ),
        (
            {"batch_size": "8"},
            "--batch_size: unknown parameter; did you mean --min_batch_size?",
        ),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else None,
)
def test_bad_parameters_are_refused_naming_the_parameter(
    change: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run_validate({**VALID, **change}, capsys)
    assert (status, err) == (2, f"error: {message}")


def test_parameters_file_is_read_as_the_launcher_receives_them(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(VALID))
    assert validate.main(["--no-io", "--parameters-file", str(good)]) == 0
    numbers = tmp_path / "numbers.json"  # Dataflow passes strings: numbers are read as such
    numbers.write_text(json.dumps({**VALID, "max_batch_size": 64}))
    assert validate.main(["--no-io", "--parameters-file", str(numbers)]) == 0
    flags = tmp_path / "flags.json"
    flags.write_text(json.dumps({**VALID, "max_batch_size": True}))
    assert validate.main(["--no-io", "--parameters-file", str(flags)]) == 2
    assert "must be a JSON object of strings (or numbers)" in capsys.readouterr().err


def test_gcloud_dict_syntax_round_trips_values_with_commas() -> None:
    values = {"input": "gs://b/{a,b}.txt", "accelerator": L4}
    flag = gcloud_parameters_flag(values)
    assert flag == "^~^input=gs://b/{a,b}.txt~accelerator=" + L4
    assert parse_parameters_flag(flag) == values
    assert parse_parameters_flag("a=1,b=x=y") == {"a": "1", "b": "x=y"}


def test_launch_dry_run_prints_the_request_and_the_gcloud_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = launch.main(
        [
            "--project=my-project", "--region=us-central1", "--job-name=classify-1",
            "--template=gs://my-bucket/templates/trt.json", "--dry-run", "--no-io",
            "--parameters", gcloud_parameters_flag(VALID),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    request_text, _, command = out.rpartition("}\n")
    request = json.loads(request_text + "}")
    assert request["projectId"] == "my-project"
    assert request["location"] == "us-central1"
    assert request["launchParameter"]["containerSpecGcsPath"] == "gs://my-bucket/templates/trt.json"
    assert request["launchParameter"]["parameters"] == VALID
    assert command == (
        "gcloud dataflow flex-template run classify-1 --project=my-project "
        "--region=us-central1 --template-file-gcs-location=gs://my-bucket/templates/trt.json "
        "'--parameters=input=gs://my-bucket/reviews/*.txt,"
        "output=gs://my-bucket/results/predictions,"
        "engine_path=gs://my-bucket/engines/sst2-l4-fp16.plan,"
        f"accelerator={L4}'\n"
    )


def test_launch_refuses_before_sending_anything(capsys: pytest.CaptureFixture[str]) -> None:
    status = launch.main(
        [
            "--project=p", "--region=us-central1", "--job-name=j", "--template=gs://b/t.json",
            "--no-io", "--parameters", gcloud_parameters_flag({**VALID, "accelerator": ""}),
        ]
    )  # fmt: skip
    assert status == 2
    assert capsys.readouterr().err.startswith("error: --accelerator: required with --engine_path")


@pytest.fixture(scope="module")
def engines(gcs_emulator: GcsEmulator, demo_bundle: pathlib.Path) -> dict[str, str]:
    gcs_emulator.write("flex-validate/in/a.txt", b"fine\n")
    upload_tokenizer(gcs_emulator, "flex-validate/engines/x.plan", demo_bundle)
    variants = {
        "l4": l4_sidecar(),
        "t4": l4_sidecar(compute_capabilities=("7.5",)),
        "trt11": l4_sidecar(tensorrt_major=11, builder_version="11.1.0.1"),
        "trt107": l4_sidecar(tensorrt_minor=7, builder_version="10.7.0.23"),
        "nosidecar": None,
    }
    paths = {}
    for name, sidecar in variants.items():
        paths[name] = upload_engine(gcs_emulator, f"flex-validate/engines/{name}.plan", sidecar)
    paths["missing"] = gcs_emulator.url("flex-validate/engines/none.plan")
    return paths


def validate_engine(
    engine: str, capsys: pytest.CaptureFixture[str], **extra: str
) -> tuple[int, str]:
    values = {
        "input": f"gs://{GCS_BUCKET}/flex-validate/in/*.txt",
        "output": f"gs://{GCS_BUCKET}/flex-validate/out/p",
        "engine_path": engine,
        "accelerator": L4,
        **extra,
    }
    status = validate.main(["--parameters", gcloud_parameters_flag(values)])
    return status, capsys.readouterr().err.strip()


def test_engine_built_for_the_gpu_passes(
    engines: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate_engine(engines["l4"], capsys, max_batch_size="32") == (0, "")


REBUILD = (
    "rebuild it where it will run: trt-text-classifier build-engine --onnx "
    "gs://my-bucket/models/sst2/model.onnx --output gs://tc-test-bucket/flex-validate/engines/{name}.plan "
    "--builder tensorrt --precision fp16 --batch 1,16,32 --seq 8,128,256 --compute-capability 8.9"
)


@pytest.mark.parametrize(
    ("engine", "extra", "message"),
    [
        (
            "t4",
            {"max_batch_size": "32"},
            "--engine_path='gs://tc-test-bucket/flex-validate/engines/t4.plan': cannot run on "
            "--accelerator nvidia-l4 in this image: gs://tc-test-bucket/flex-validate/engines/t4.plan was "
            f"built with tensorrt {IMAGE_TENSORRT} for compute capability 7.5, but this GPU has compute "
            "capability 8.9; " + REBUILD.format(name="t4"),
        ),
        (
            "trt11",
            {"max_batch_size": "32"},
            "--engine_path='gs://tc-test-bucket/flex-validate/engines/trt11.plan': cannot run on "
            "--accelerator nvidia-l4 in this image: gs://tc-test-bucket/flex-validate/engines/trt11.plan was "
            "built with tensorrt 11.1.0.1 for compute capability 8.9, but this worker has "
            f"tensorrt {IMAGE_TENSORRT} (an engine loads only on the exact version that built it); "
            + REBUILD.format(name="trt11"),
        ),
        (
            "trt107",
            {"max_batch_size": "32"},
            "--engine_path='gs://tc-test-bucket/flex-validate/engines/trt107.plan': cannot run on "
            "--accelerator nvidia-l4 in this image: gs://tc-test-bucket/flex-validate/engines/trt107.plan was "
            "built with tensorrt 10.7.0.23 for compute capability 8.9, but this worker has "
            f"tensorrt {IMAGE_TENSORRT} (an engine loads only on the exact version that built it); "
            + REBUILD.format(name="trt107"),
        ),
        (
            "l4",
            {"max_batch_size": "64"},
            "--max_batch_size=64: above the engine profile's maximum batch of 32; use at most 32 "
            "or rebuild the engine with a larger --batch MAX",
        ),
        (
            "l4",
            {"max_batch_size": "32", "max_seq_length": "512"},
            "--max_seq_length=512: above the engine profile's limit of 256 tokens; use at most 256",
        ),
        (
            "nosidecar",
            {},
            "--engine_path='gs://tc-test-bucket/flex-validate/engines/nosidecar.plan': its sidecar "
            "gs://tc-test-bucket/flex-validate/engines/nosidecar.plan.json is missing; copy the .plan.json "
            "that build-engine wrote beside the engine",
        ),
        (
            "missing",
            {},
            "--engine_path='gs://tc-test-bucket/flex-validate/engines/none.plan': no such file; build one "
            "with `trt-text-classifier build-engine`",
        ),
    ],
    ids=[
        "compute-capability",
        "tensorrt-major",
        "tensorrt-minor",
        "batch",
        "sequence",
        "no-sidecar",
        "no-engine",
    ],
)
def test_engine_that_cannot_run_is_refused(
    engines: dict[str, str],
    engine: str,
    extra: dict[str, str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert validate_engine(engines[engine], capsys, **extra) == (2, f"error: {message}")


def test_validate_warns_when_the_default_driver_may_be_too_old_for_the_gpu(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = {
        "input": "gs://my-bucket/in/*.txt",
        "output": "gs://my-bucket/out/p",
        "engine_path": "gs://my-bucket/e.plan",
        "accelerator": "type:nvidia-rtx-pro-6000;count:1;install-nvidia-driver",
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(values))
    assert validate.main(["--no-io", "--parameters-file", str(path)]) == 0
    assert capsys.readouterr().err == (
        "warning: --accelerator: nvidia-rtx-pro-6000 needs NVIDIA driver 580 or newer and "
        "Dataflow documents no version for 'install-nvidia-driver'; use "
        "install-nvidia-driver:latest\n"
    )
