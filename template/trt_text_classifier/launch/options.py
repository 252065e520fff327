"""Beam pipeline options from the launch parameters and the flags Beam owns.

On Dataflow with an accelerator, the options follow Google's recipe for GPU
workers: the `worker_accelerator` service option, a machine type of the GPU's
series and Runner v2 with a custom container (the template's own image).
Dataflow's default layout stays: one SDK process per vCPU, each tokenizing its
own records. Without MPS the handler serves one engine per worker VM to all of
them (`shared_backend.py`); one SDK process per worker
(`no_use_multiple_sdk_containers`) would put all host work of a worker on one
core while the GPU waits. With `use_nvidia_mps` each SDK process loads its own
engine and the processes share the GPU through MPS (`dataflow.gpu_memory`
checks at launch that the engines fit).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from apache_beam.options.pipeline_options import (
    DebugOptions,
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)

from trt_text_classifier.dataflow.accelerator import WorkerGpu
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.parameters import PipelineParameters, closest, parameter_names

DEFAULT_RUNNER = "DirectRunner"
IMAGE_ENV = "TRT_TEXT_CLASSIFIER_IMAGE"
"""Set in the container at build time to the image's own name (container/Dockerfile)."""
GPU_EXPERIMENTS = ("use_runner_v2",)
"""Without MPS: one SDK process per vCPU, one engine per worker VM served to all of them."""
MPS_EXPERIMENTS = ("use_runner_v2",)
"""With use_nvidia_mps: one SDK process per vCPU, all sharing the GPU through MPS."""
GPU_WORKER_DISK_GB = 50
"""Boot disk for GPU workers when none is asked for: the image is about 10 GB unpacked."""


def runner_name(beam_args: Sequence[str]) -> str:
    """The runner the Beam flags name, or the default."""
    return PipelineOptions(list(beam_args)).view_as(StandardOptions).runner or DEFAULT_RUNNER


LOCAL_RUNNERS = frozenset(
    {
        "DirectRunner",
        "FnApiRunner",
        "PrismRunner",
        "SwitchingDirectRunner",
        "BundleBasedDirectRunner",
    }
)
"""Runners that execute on this machine."""


def _runner_class_name(runner: str) -> str:
    """`apache_beam.runners.DataflowRunner` and `DataflowRunner` both name DataflowRunner."""
    return runner.rsplit(".", 1)[-1]


def is_local_runner(runner: str | None) -> bool:
    """`runner` is Beam's --runner; None is the default DirectRunner."""
    return runner is None or _runner_class_name(runner) in LOCAL_RUNNERS


def is_dataflow_runner(runner: str | None) -> bool:
    return (
        runner is not None
        and _runner_class_name(runner).removesuffix("Runner").lower() == "dataflow"
    )


def is_dataflow(beam_args: Sequence[str]) -> bool:
    return is_dataflow_runner(runner_name(beam_args))


def check_beam_args(beam_args: Sequence[str], *, refuse_repeated: bool = True) -> None:
    """Refuse what neither the parameter model nor any Beam options class knows, and (with
    `refuse_repeated`) a Beam option given twice.

    Beam itself only logs "Discarding unparseable args", so a misspelled
    parameter would run with its default.
    """
    parsers: list[argparse.ArgumentParser] = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=parsers.append)
    if refuse_repeated:
        check_beam_not_repeated(beam_args, parsers[0])
    _, unknown = parsers[0].parse_known_args(list(beam_args))
    if not unknown:
        check_worker_counts(beam_args)
        return
    first = unknown[0]
    if not first.startswith("-"):
        raise ParameterError(f"{first!r}: unexpected argument; options are written --name=value")
    name = first.split("=", 1)[0]
    known = [option for action in parsers[0]._actions for option in action.option_strings]
    close = closest(name, known + [f"--{parameter}" for parameter in parameter_names()])
    raise ParameterError(
        f"{name}: unknown option; did you mean {close}?"
        if close
        else f"{name}: unknown option (neither a parameter of this pipeline nor a Beam option); "
        "`trt-text-classifier run --help` lists the parameters"
    )


def check_beam_not_repeated(beam_args: Sequence[str], parser: argparse.ArgumentParser) -> None:
    """A Beam option that takes one value, given twice (`--runner X --runner Y`), keeps the
    last one without a word: refuse it. Options that collect their values (`--experiments`,
    `--dataflow_service_options`, ...) and flags without a value may repeat."""
    single = {
        option: action
        for action in parser._actions
        for option in action.option_strings
        if isinstance(action, argparse._StoreAction)
    }
    given: dict[str, list[str]] = {}
    for arg in beam_args:
        name = arg.split("=", 1)[0]
        if name in single:
            given.setdefault(single[name].dest, []).append(name)
    for names in given.values():
        if len(names) > 1:
            raise ParameterError(
                f"{names[0]}: given {len(names)} times; give it once (Beam would keep only "
                "the last value)"
            )


def check_worker_counts(beam_args: Sequence[str]) -> None:
    """Beam passes negative worker counts on to the service; refuse them here."""
    workers = PipelineOptions(list(beam_args)).view_as(WorkerOptions)
    for name in ("num_workers", "max_num_workers"):
        value = getattr(workers, name)
        if value is not None and value < 0:
            raise ParameterError(
                f"--{name}={value}: must be 0 or more (0 or unset lets Dataflow choose)"
            )


def with_environment_machine_type(
    params: PipelineParameters, beam_args: Sequence[str]
) -> PipelineParameters:
    """Take the machine type from Beam's flags when the parameter is empty.

    Launched with a runtime environment machine type, the launcher passes it as
    Beam's own `--worker_machine_type`; the GPU checks must see that machine.
    """
    flagged = PipelineOptions(list(beam_args)).view_as(WorkerOptions).machine_type
    if params.machine_type or not flagged:
        return params
    return params.model_copy(update={"machine_type": flagged})


def make_pipeline_options(
    params: PipelineParameters, beam_args: Sequence[str], worker: WorkerGpu | None = None
) -> PipelineOptions:
    """Beam's own flags pass through; Dataflow jobs get their image and GPU options.

    A Pub/Sub input turns streaming on, whatever the flags say.
    """
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = DEFAULT_RUNNER
    if params.streaming:
        standard.streaming = True
    if is_dataflow(beam_args):
        _set_dataflow_options(options, params, worker)
    return options


def _set_dataflow_options(
    options: PipelineOptions, params: PipelineParameters, worker: WorkerGpu | None
) -> None:
    image = params.sdk_container_image or os.environ.get(IMAGE_ENV)
    if not image:
        raise ParameterError(
            "--sdk_container_image: no worker image is known (this launcher image was built "
            f"without one: {IMAGE_ENV} is empty), so workers would run Beam's stock image, "
            "which lacks this package; give --sdk_container_image=REGISTRY/IMAGE:TAG or rebuild "
            "the template with Cloud Build (it passes IMAGE_URI)"
        )
    options.view_as(WorkerOptions).sdk_container_image = image
    options.view_as(SetupOptions).sdk_location = "container"
    debug = options.view_as(DebugOptions)
    experiments = ["use_runner_v2"]
    if worker is not None and worker.accelerator.use_nvidia_mps:
        # Google's MPS page: MPS shares the GPU between the SDK processes of a worker; do not
        # combine it with no_use_multiple_sdk_containers. Each process loads its own engine
        # (preflight checks they fit on the GPU).
        experiments = list(MPS_EXPERIMENTS)
    elif worker is not None:
        experiments = list(GPU_EXPERIMENTS)
    if worker is not None:
        cloud = options.view_as(GoogleCloudOptions)
        services = list(cloud.dataflow_service_options or [])
        services.append(f"worker_accelerator={worker.accelerator.service_option()}")
        cloud.dataflow_service_options = services
    for experiment in experiments:
        debug.add_experiment(experiment)
    workers = options.view_as(WorkerOptions)
    machine_type = worker.machine_type if worker is not None else params.machine_type
    if machine_type:
        workers.machine_type = machine_type
    if worker is not None and not workers.disk_size_gb:
        workers.disk_size_gb = GPU_WORKER_DISK_GB
