"""The image's Python layout as Beam's worker boot sees it (the boot-path self-check).

The layouts are built here for real: a venv with the project in its own
site-packages, as container/Dockerfile makes /opt/venv, on top of a base
interpreter that stands for the NGC image's system Python. `check_boot_path`
then does what boot does (a second venv made from the `python` on PATH,
`--system-site-packages`, unless RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT is set)
and imports the worker's modules from the interpreter boot would run.

TensorRT is not installable on this machine, so the imports checked here are
Beam, the project and cuda-python; the image's check adds `tensorrt`.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import sysconfig

import pytest
from dockerfile_parse import DockerfileParser

from support.repository import REPOSITORY
from trt_text_classifier.dataflow.worker_boot import DEFAULT_ENVIRONMENT_ENV, check_boot_path

ROOT = REPOSITORY
MODULES = ("apache_beam", "trt_text_classifier", "cuda.bindings")
IMAGE_VENV = "/opt/venv"
BASE_PYTHON = pathlib.Path(sys.base_prefix) / "bin" / "python3"
"""Not a venv: the interpreter this test run's venv was made from (the 'system' Python)."""


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A venv like the image's /opt/venv: --system-site-packages, no pip, the project inside."""
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run(
        [str(BASE_PYTHON), "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The packages of this test run (Beam, cuda-python, ...) and the project's source become
    # part of the venv's own site-packages, where the image's pip install puts them.
    installed = [str(ROOT / "template"), sysconfig.get_path("purelib")]
    pathlib.Path(site, "image_packages.pth").write_text("\n".join(installed) + "\n")
    return venv


def base_environment(venv: pathlib.Path) -> dict[str, str]:
    path = os.pathsep.join([str(venv / "bin"), str(BASE_PYTHON.parent), "/usr/bin", "/bin"])
    return {"PATH": path, "VIRTUAL_ENV": str(venv), "HOME": os.environ.get("HOME", "/root")}


def test_the_image_venv_itself_imports_the_worker_modules(image_venv: pathlib.Path) -> None:
    env = base_environment(image_venv)
    for module in MODULES:
        subprocess.run(
            [str(image_venv / "bin" / "python"), "-c", f"import {module}"], env=env, check=True
        )


def test_a_venv_that_boot_makes_from_the_image_venv_is_refused(image_venv: pathlib.Path) -> None:
    result = check_boot_path(base_environment(image_venv), MODULES)
    assert result.venv
    assert not result.ok
    assert result.problem == (
        "`python -m pip show apache-beam` fails there (boot stops the worker)"
    )


def test_the_same_layout_without_boot_s_venv_is_accepted(image_venv: pathlib.Path) -> None:
    env = base_environment(image_venv) | {DEFAULT_ENVIRONMENT_ENV: "1"}
    result = check_boot_path(env, MODULES)
    assert result.ok, result.describe()
    assert result.python == str(image_venv / "bin" / "python")
    assert not result.venv


def test_a_missing_module_is_named(image_venv: pathlib.Path) -> None:
    env = base_environment(image_venv) | {DEFAULT_ENVIRONMENT_ENV: "1"}
    result = check_boot_path(env, ("apache_beam", "no_such_module_here"))
    assert result.problem == (
        "cannot import no_such_module_here: "
        "ModuleNotFoundError: No module named 'no_such_module_here'"
    )


def dockerfile_environment(venv: pathlib.Path) -> dict[str, str]:
    """container/Dockerfile's ENV, with /opt/venv mapped onto the local layout."""
    parser = DockerfileParser(fileobj=(ROOT / "container" / "Dockerfile").open("rb"))
    env = base_environment(venv)
    for name, value in parser.envs.items():
        value = value.replace("$PATH", env["PATH"]).replace(IMAGE_VENV, str(venv))
        env[name] = value
    return env


def test_the_dockerfile_s_environment_passes_boot_s_path(image_venv: pathlib.Path) -> None:
    result = check_boot_path(dockerfile_environment(image_venv), MODULES)
    assert result.ok, result.describe()
