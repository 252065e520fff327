"""`trt-text-classifier build-engine`: ONNX bundle -> TensorRT engine + sidecar + tokenizer copy."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from trt_text_classifier.commands.errors import report_errors
from trt_text_classifier.commands.output_files import OVERWRITE_HELP, check_outputs
from trt_text_classifier.errors import ParameterError

if TYPE_CHECKING:
    from trt_text_classifier.model_tooling.engine_build import BuildRequest
    from trt_text_classifier.sidecar import GpuTarget, ProfileRange

HELP = "build a TensorRT engine (.plan + .plan.json sidecar) from a model.onnx bundle"


def make_parser() -> argparse.ArgumentParser:
    from trt_text_classifier.model_tooling import engine_build as build

    parser = argparse.ArgumentParser(
        prog="trt-text-classifier build-engine",
        description=(
            "Build a TensorRT engine from model.onnx (with bundle.json and the tokenizer beside "
            "it). Writes FILE.plan, FILE.plan.json (sidecar) and FILE.plan.tokenizer/."
        ),
    )
    parser.add_argument("--onnx", required=True, help="model.onnx of an export/demo-model bundle")
    parser.add_argument(
        "--output", help="engine file to write, e.g. sst2.plan (or give --engine_cache)"
    )
    parser.add_argument(
        "--engine_cache",
        "--engine-cache",
        metavar="FOLDER",
        help=(
            "fill this engine cache (gs:// or local folder) instead of writing --output: the "
            "entry for the GPU built for, through the workers' claim protocol"
        ),
    )
    parser.add_argument(
        "--gpu",
        metavar="ACCELERATOR_TYPE",
        help=(
            "with --engine_cache and tensorrt-rtx: the Dataflow accelerator type the engine is "
            "for, e.g. nvidia-l4 (its CUDA name and compute capability key the entry); "
            "tensorrt builds for this machine's GPU"
        ),
    )
    parser.add_argument(
        "--builder",
        choices=list(build.BUILDER_MODULES),
        help="builder library; default: tensorrt if importable, else tensorrt-rtx",
    )
    parser.add_argument(
        "--precision",
        choices=build.PRECISIONS,
        default=build.DEFAULT_PRECISION,
        help=f"default {build.DEFAULT_PRECISION} (T4, compute capability 7.5, needs fp16)",
    )
    parser.add_argument(
        "--batch",
        default=build.DEFAULT_BATCH.as_flag(),
        help=f"MIN,OPT,MAX batch size of the profile (default {build.DEFAULT_BATCH.as_flag()})",
    )
    parser.add_argument(
        "--seq",
        default=build.DEFAULT_SEQUENCE.as_flag(),
        help=f"MIN,OPT,MAX tokens per record (default {build.DEFAULT_SEQUENCE.as_flag()})",
    )
    parser.add_argument(
        "--compute-capability",
        help=(
            "target GPU(s) X.Y[,X.Y]: tensorrt-rtx default "
            f"{','.join(build.RTX_DEFAULT_TARGETS)} (add 7.5 alone for T4); "
            "tensorrt builds for the local GPU only"
        ),
    )
    parser.add_argument("--timing-cache", help="timing cache file, loaded if present and saved")
    parser.add_argument(
        "--verify",
        metavar="FILE",
        help=(
            "after the build, run verify-engine on the sentences of FILE (one per line) with its "
            "default thresholds; needs a GPU that can run the engine; exits 1 when it fails"
        ),
    )
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    parser.add_argument(
        "--workspace-mib",
        type=int,
        default=build.DEFAULT_WORKSPACE_MIB,
        help=f"builder workspace in MiB (default {build.DEFAULT_WORKSPACE_MIB})",
    )
    return parser


def parse_range(flag: str, text: str) -> ProfileRange:
    from trt_text_classifier.sidecar import ProfileRange

    parts = text.split(",")
    try:
        low, opt, high = (int(part) for part in parts)
        return ProfileRange(min=low, opt=opt, max=high)
    except (ValueError, ValidationError):
        raise ParameterError(
            f"{flag}={text!r}: expected MIN,OPT,MAX positive integers with MIN <= OPT <= MAX, "
            "e.g. 1,32,64"
        ) from None


def make_request(args: argparse.Namespace) -> BuildRequest:
    from trt_text_classifier.model_tooling.engine_build import BuildRequest, parse_targets

    targets = None
    if args.compute_capability:
        try:
            targets = parse_targets(args.compute_capability)
        except ValueError as error:
            raise ParameterError(f"--compute-capability: {error}") from None
    if args.workspace_mib < 1:
        raise ParameterError(f"--workspace-mib={args.workspace_mib}: must be at least 1")
    if args.output is None:
        raise ParameterError("--output: required (or --engine_cache to fill a cache)")
    directory = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(directory):
        raise ParameterError(f"--output={args.output}: folder {directory} does not exist")
    check_engine_outputs(args)
    return BuildRequest(
        onnx_path=args.onnx,
        engine_path=args.output,
        builder=args.builder,
        precision=args.precision,
        batch=parse_range("--batch", args.batch),
        sequence=parse_range("--seq", args.seq),
        compute_capabilities=targets,
        timing_cache=args.timing_cache,
        workspace_mib=args.workspace_mib,
    )


def check_engine_outputs(args: argparse.Namespace) -> None:
    """The engine, its sidecar and tokenizer copy: never over an input, nor existing files
    without --overwrite."""
    from trt_text_classifier.bundle import manifest_path_for
    from trt_text_classifier.sidecar import sidecar_path_for

    inputs = {args.onnx: "the --onnx model", manifest_path_for(args.onnx): "the model's manifest"}
    if args.verify:
        inputs[args.verify] = "the --verify sentences"
    outputs = [args.output, sidecar_path_for(args.output), f"{args.output}.tokenizer"]
    check_outputs("--output", args.output, outputs, inputs, overwrite=args.overwrite)


def main(argv: Sequence[str]) -> int:
    args = make_parser().parse_args(list(argv))
    return report_errors(lambda: _build(args))


def cache_gpu(args: argparse.Namespace, library: str) -> GpuTarget:
    """The GPU a cache entry is built for: --gpu's catalog entry, or this machine's GPU."""
    from trt_text_classifier.dataflow.gpu_catalog import GPU_TYPES, cuda_device_name
    from trt_text_classifier.sidecar import GpuTarget

    if args.gpu is None:
        if library == "tensorrt-rtx":
            raise ParameterError(
                "--gpu: required with --engine_cache and tensorrt-rtx (which GPU the entry is "
                f"for), one of {', '.join(GPU_TYPES)}"
            )
        from trt_text_classifier.serving.engine_cache import local_gpu

        return local_gpu()
    gpu = GPU_TYPES.get(args.gpu)
    if gpu is None:
        raise ParameterError(f"--gpu={args.gpu!r}: unknown; one of {', '.join(GPU_TYPES)}")
    if args.compute_capability and args.compute_capability != gpu.compute_capability_text:
        raise ParameterError(
            f"--compute-capability={args.compute_capability}: {args.gpu} has "
            f"{gpu.compute_capability_text}; drop --compute-capability"
        )
    return GpuTarget(cuda_device_name(gpu), gpu.compute_capability_text)


def _fill_cache(args: argparse.Namespace) -> int:
    from trt_text_classifier.model_tooling.engine_build import CacheBuilder, available_builder
    from trt_text_classifier.serving.engine_cache import EngineCache
    from trt_text_classifier.serving.engine_cache_entry import describe_entry
    from trt_text_classifier.serving.engine_cache_store import EngineCacheError
    from trt_text_classifier.sidecar import BuildSettings

    if args.output is not None:
        raise ParameterError("--output / --engine_cache: give one (where the engine goes)")
    if args.workspace_mib < 1:
        raise ParameterError(f"--workspace-mib={args.workspace_mib}: must be at least 1")
    builder = CacheBuilder(args.builder or available_builder())
    gpu = cache_gpu(args, builder.library)
    settings = BuildSettings(
        precision=args.precision,
        batch=parse_range("--batch", args.batch),
        sequence=parse_range("--seq", args.seq),
        workspace_mib=args.workspace_mib,
    )
    cache = EngineCache(args.engine_cache)
    try:
        cache.check_writable()
        engine, _ = cache.obtain(args.onnx, gpu, settings, builder)
    except EngineCacheError as error:
        raise ParameterError(f"--engine_cache={args.engine_cache!r}: {error}") from None
    print(
        f"engine cache: {engine.outcome}: {args.engine_cache.rstrip('/')}/{engine.entry} "
        f"({describe_entry(engine.entry_record)})",
        flush=True,
    )
    return 0


def _build(args: argparse.Namespace) -> int:
    from trt_text_classifier.model_tooling.engine_build import build_engine
    from trt_text_classifier.sidecar import sidecar_path_for

    if args.engine_cache is not None:
        return _fill_cache(args)
    sidecar = build_engine(make_request(args))
    if args.timing_cache and sidecar.builder == "tensorrt-rtx":
        print(
            f"note: --timing-cache={args.timing_cache} ignored: tensorrt-rtx has no timing cache",
            file=sys.stderr,
        )
    size_mib = os.path.getsize(args.output) / (1 << 20)
    print(
        f"engine: {args.output} ({size_mib:.1f} MiB, {sidecar.builder} {sidecar.builder_version}, "
        f"{sidecar.precision}, compute capability {','.join(sidecar.compute_capabilities)}, "
        f"batch {sidecar.batch.as_flag()}, seq {sidecar.sequence.as_flag()}, "
        f"{sidecar.build_seconds:.1f} s)\nsidecar: {sidecar_path_for(args.output)}"
        f"\ntokenizer: {sidecar.tokenizer_location(args.output)}",
        file=sys.stdout,
        flush=True,
    )
    if args.verify:
        from trt_text_classifier.commands.verify_engine import run_verification

        return run_verification(args.output, args.onnx, args.verify)
    return 0
