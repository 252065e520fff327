"""One worker obtaining an engine from the cache, run as a process by the engine cache tests.

    python -m support.engine_cache_worker CACHE ONNX START_AT [--stale-after S]
        [--slow-build S] [--version V] [--gpu NAME=X.Y] [--batch 1,2,4] [--seq 1,8,16]
        [--precision fp32] [--workspace-mib 256]

Waits until the wall clock reaches START_AT (so several processes start at the same
moment), obtains the engine for the declared GPU with a real TensorRT-RTX build, and
prints one JSON line: outcome, what its cache object counted, the engine's and sidecar's
SHA-256, and the entry it read. `--slow-build` sleeps after claiming, before building (a
builder that can be killed mid-build). No credentials: Beam's credential holder is seeded.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import time
from typing import Any


def sha256_file(path: str) -> str:
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache")
    parser.add_argument("onnx")
    parser.add_argument("start_at", type=float)
    parser.add_argument("--stale-after", type=float, default=1200.0)
    parser.add_argument("--slow-build", type=float, default=0.0)
    parser.add_argument("--version")
    parser.add_argument("--gpu", default="NVIDIA L4=8.9")
    parser.add_argument("--batch", default="1,2,4")
    parser.add_argument("--seq", default="1,8,16")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--workspace-mib", type=int, default=256)
    args = parser.parse_args()
    try:
        from apache_beam.internal.gcp import auth

        auth._Credentials._credentials_init = True
        auth._Credentials._credentials = None
    except ImportError:
        pass
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")

    from trt_text_classifier.model_tooling.engine_build import CacheBuilder
    from trt_text_classifier.serving.engine_cache import EngineCache
    from trt_text_classifier.sidecar import BuildSettings, GpuTarget, ProfileRange, sidecar_path_for

    @dataclasses.dataclass(frozen=True)
    class TestBuilder(CacheBuilder):
        slow_build: float = 0.0
        version_override: str | None = None

        @property
        def version(self) -> str:
            return self.version_override or super().version

        def build(self, *build_args: Any) -> Any:
            print(json.dumps({"building": True}), flush=True)
            time.sleep(self.slow_build)
            return super().build(*build_args)

    def profile(text: str) -> ProfileRange:
        low, opt, high = (int(part) for part in text.split(","))
        return ProfileRange(min=low, opt=opt, max=high)

    name, capability = args.gpu.split("=")
    settings = BuildSettings(
        args.precision, profile(args.batch), profile(args.seq), args.workspace_mib
    )
    builder = TestBuilder("tensorrt-rtx", args.slow_build, args.version)
    cache = EngineCache(args.cache, stale_after_s=args.stale_after, poll_interval_s=0.2)
    _ = builder.version  # import the builder library before the start line
    while time.time() < args.start_at:
        time.sleep(0.001)
    started = time.monotonic()
    engine, _ = cache.obtain(args.onnx, GpuTarget(name, capability), settings, builder)
    seconds = time.monotonic() - started
    print(
        json.dumps(
            {
                "outcome": engine.outcome,
                "seconds": seconds,
                "worker": cache.worker,
                "metrics": dataclasses.asdict(cache.metrics),
                "entry": engine.entry,
                "engine_sha256": sha256_file(engine.engine_path),
                "sidecar_sha256": sha256_file(sidecar_path_for(engine.engine_path)),
                "record": engine.entry_record,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
