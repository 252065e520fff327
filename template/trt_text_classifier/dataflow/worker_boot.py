"""Beam's worker boot path, reproduced to prove an image can start a Dataflow worker.

What the boot program of the Python SDK container (apache/beam,
`sdks/python/container/boot.go`, `launchSDKProcess` and `setupVenv`; pip's
check in `piputil.go`, `isPackageInstalled`) does before any of our code runs:

1. Unless `RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT` is set to a non-empty value,
   it creates a venv, `<python> -m venv --system-site-packages DIR`, where
   `<python>` is the first of `python`, `python3` on PATH that runs, and puts
   `DIR/bin` first on PATH. A venv made from inside another venv takes the
   *base* interpreter as its home, so it sees the system site-packages but not
   the packages of the venv it was made from.
2. It refuses to go on unless `python -m pip show apache-beam` succeeds.
3. It starts each SDK process as `python -m apache_beam.runners.worker.sdk_worker_main`,
   `python` looked up on that PATH.

`check_boot_path` does the same with a given environment (the image's own
variables in `doctor --image`) and then imports the modules a worker needs with
the interpreter boot would run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_ENVIRONMENT_ENV = "RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT"
WORKER_MODULES = ("apache_beam", "trt_text_classifier", "tensorrt", "cuda.bindings")
"""What an SDK process of this template imports: Beam, the project, TensorRT, cuda-python."""
STEP_TIMEOUT_SECS = 120


@dataclass(frozen=True)
class BootPathResult:
    """What boot would run and whether the worker modules import there."""

    python: str
    """The interpreter boot starts the SDK processes with."""
    venv: bool
    """Whether boot creates its own venv first."""
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        where = "a venv boot creates from " if self.venv else ""
        text = f"python of {where}{self.python}" if self.venv else f"python {self.python}"
        return text if self.ok else f"{text}: {self.problem}"


def boot_python(env: Mapping[str, str]) -> str | None:
    """The interpreter boot finds on PATH: `python`, else `python3` (the first that runs)."""
    for name in ("python", "python3"):
        found = shutil.which(name, path=env.get("PATH", ""))
        if found and _runs([found, "--version"], env):
            return found
    return None


def check_boot_path(
    env: Mapping[str, str], modules: Sequence[str] = WORKER_MODULES
) -> BootPathResult:
    """Follow boot's steps in `env`; report the first one a worker would fail at."""
    base = boot_python(env)
    if base is None:
        return BootPathResult("(none)", False, "neither python nor python3 on PATH")
    if env.get(DEFAULT_ENVIRONMENT_ENV, ""):
        return _check_interpreter(base, env, modules, venv=False)
    with tempfile.TemporaryDirectory(prefix="beam-venv-worker-") as venv_dir:
        made = _step([base, "-m", "venv", "--system-site-packages", venv_dir], env)
        if made.returncode != 0:
            return BootPathResult(base, True, f"venv creation failed: {_last_line(made)}")
        venv_env = dict(env)
        venv_env["VIRTUAL_ENV"] = venv_dir
        venv_env["PATH"] = os.pathsep.join([os.path.join(venv_dir, "bin"), env.get("PATH", "")])
        result = _check_interpreter(
            shutil.which("python", path=venv_env["PATH"]) or base, venv_env, modules, venv=True
        )
        return BootPathResult(base, True, result.problem)


def _check_interpreter(
    python: str, env: Mapping[str, str], modules: Sequence[str], *, venv: bool
) -> BootPathResult:
    pip = _step([python, "-m", "pip", "show", "apache-beam"], env)
    if pip.returncode != 0:
        return BootPathResult(
            python, venv, "`python -m pip show apache-beam` fails there (boot stops the worker)"
        )
    for module in modules:
        imported = _step([python, "-c", f"import {module}"], env)
        if imported.returncode != 0:
            return BootPathResult(python, venv, f"cannot import {module}: {_last_line(imported)}")
    return BootPathResult(python, venv)


def _runs(command: list[str], env: Mapping[str, str]) -> bool:
    try:
        return subprocess.run(command, env=dict(env), capture_output=True).returncode == 0
    except OSError:
        return False


def _step(command: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """One step of the boot path, run as boot runs it: in `env`, bounded in time."""
    return subprocess.run(
        list(command), env=dict(env), capture_output=True, text=True, timeout=STEP_TIMEOUT_SECS
    )


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"
