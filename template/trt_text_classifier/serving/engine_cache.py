"""A shared cache of TensorRT engines: each GPU type's engine is built once and shared.

    obtain(onnx, gpu, settings)
      key = ONNX SHA-256 + builder + exact version + GPU name + compute capability
            + precision + profile + workspace (+ format)          -> one entry folder
      entry.json present?  -> hit: download engine + entry.json (model_files' verified cache),
                              check SHA-256 and key                 -> engine path
      claim.json absent?   -> create it (create-only: gs:// if_generation_match=0, local link())
                              -> build -> upload engine-TOKEN.plan -> create entry.json -> drop claim
      claim.json present   -> wait (one log line every 30 s) until entry.json appears;
                              a claim older than `stale_after_s` is taken over with a
                              generation-matched write (local: a create-only takeover marker)

An entry is visible only through `entry.json`, written last and create-only: it names the
engine file (unique per claim, so a slow builder that lost its claim never overwrites the
engine an entry points to) and carries its SHA-256, the full key, the engine's sidecar,
who built it and when. Two builders can never both finish into one entry, and a reader
never sees a half-written entry: the engine is checked against the SHA-256 before use.

Bad entries (SHA-256 mismatch, a key that is not the one wanted, an engine the runtime
refuses) are moved aside to `FOLDER.bad-TIME/` (never deleted), counted and rebuilt once;
a second failure raises `EngineCacheError` naming the entry.

No Beam, no GPU needed: a GPU is *declared* (`GpuTarget`), the builder is injected
(`EntryBuilder`: the model tooling's, which serving may not import), local folders need no
Cloud Storage; metrics go to Beam's `Metrics` where importable, and to `CacheMetrics`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trt_text_classifier import model_files
from trt_text_classifier.errors import one_line
from trt_text_classifier.serving.engine_cache_entry import (
    CachedEngine,
    CacheMetrics,
    EntryInfo,
)
from trt_text_classifier.serving.engine_cache_key import (
    CacheKey,
    EntryBuilder,
    make_key,
)
from trt_text_classifier.serving.engine_cache_store import (
    EngineCacheError,
    open_store,
)
from trt_text_classifier.sidecar import (
    BuildSettings,
    EngineSidecar,
    GpuTarget,
    model_sha256,
    sha256_of,
    sidecar_path_for,
)

__all__ = ["BuildSettings", "GpuTarget"]

LOG = logging.getLogger(__name__)

ENTRY_FILE = "entry.json"
CLAIM_FILE = "claim.json"
TIMING_CACHE_FILE = "timing.cache"
ENGINE_FILE = "engine.plan"
"""Name of the engine in a worker's local copy (next to `engine.plan.json`, its sidecar)."""
WAIT_LOG_INTERVAL_S = 30.0
POLL_INTERVAL_S = 2.0
STALE_AFTER_S = 1200.0
"""A claim older than this (20 min) is taken over. Derived from measured build times with a
wide margin: TensorRT-RTX 1.7 built a BERT-base-sized model (fp16, batch 1..64, sequence
1..128, for an L4) in 8.9 s on this 2-core CPU, 16.8 s with three other workers polling
beside it; full TensorRT builds of BERT-base on a T4/L4 time tactics and take minutes (not
measurable here: no TensorRT GPU build machine), and a cold worker first downloads the ONNX
bundle (345 MB fp32 for BERT-base). 20 min is several times the slowest of these, short
beside the hours of a batch job: a dead builder costs the others at most 20 min of waiting,
and a slow but live one is not overtaken. A claim is taken over, never deleted by others."""


class EngineRefused(RuntimeError):
    """Raised by a loader when the runtime refuses to deserialize a cached engine."""


def local_gpu() -> GpuTarget:
    """The GPU of this machine (device 0 of this process), through the CUDA runtime."""
    from trt_text_classifier.backends.cuda_memory import _runtime, check, device_compute_capability

    rt = _runtime()
    device = check(rt.cudaGetDevice(), "cudaGetDevice")
    properties = check(rt.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = properties.name
    name = name.split(b"\0", 1)[0].decode() if isinstance(name, bytes) else str(name)
    return GpuTarget(name, device_compute_capability(device))


def worker_name() -> str:
    """Who builds: the host name (a Dataflow worker VM's name) and the process id."""
    return f"{socket.gethostname()}/{os.getpid()}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- the store: a local folder or a gs:// prefix --------------------------------------------


# --- metrics ----------------------------------------------------------------------------------


# --- entries ----------------------------------------------------------------------------------


class EngineCache:
    """The shared cache at `location` (gs://BUCKET/FOLDER/ or a local folder)."""

    def __init__(
        self,
        location: str,
        *,
        stale_after_s: float = STALE_AFTER_S,
        poll_interval_s: float = POLL_INTERVAL_S,
        wait_log_interval_s: float = WAIT_LOG_INTERVAL_S,
        worker: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.location = location
        self.store = open_store(location)
        self.stale_after_s = stale_after_s
        self.poll_interval_s = poll_interval_s
        self.wait_log_interval_s = wait_log_interval_s
        self.worker = worker or worker_name()
        self.clock = clock
        self.metrics = CacheMetrics()
        self._suspect: str | None = None
        """The engine file of the entry found bad: moved aside only while still the entry's."""

    # -- reading ------------------------------------------------------------------------------

    def lookup(self, key: CacheKey) -> dict[str, Any] | None:
        """The entry record for `key` when the cache holds one (no download, no check)."""
        found = self.store.read(f"{key.folder}/{ENTRY_FILE}")
        return None if found is None else json.loads(found[0])

    def entries(self) -> list[EntryInfo]:
        names = self.store.names()
        infos = []
        for name in names:
            folder, _, file = name.partition("/")
            if file != ENTRY_FILE:
                continue
            found = self.store.read(name)
            if found is None:
                continue
            record = json.loads(found[0])
            infos.append(
                EntryInfo(
                    folder,
                    record.get("key", {}),
                    self.store.size(f"{folder}/{record.get('engine_file', '')}"),
                    record.get("built_at", "?"),
                    record.get("built_by", "?"),
                )
            )
        return infos

    def check_writable(self) -> None:
        self.store.check_writable()

    # -- obtaining ----------------------------------------------------------------------------

    def obtain(
        self,
        onnx_path: str,
        gpu: GpuTarget,
        settings: BuildSettings,
        builder: EntryBuilder,
        *,
        load: Callable[[CachedEngine], Any] | None = None,
    ) -> tuple[CachedEngine, Any]:
        """A verified engine for `gpu` (built here if nobody has), and `load(engine)`'s result.

        `load` (the runtime's deserialization, on a GPU) may raise `EngineRefused`: the
        entry is then moved aside and rebuilt once, like an entry whose bytes do not match.
        """
        local_onnx = _local_bundle_onnx(onnx_path)
        key = make_key(model_sha256(local_onnx), builder, gpu, settings)
        failures: list[str] = []
        while True:
            engine = self._hit_or_build(key, local_onnx, onnx_path, gpu, settings, builder)
            problem = engine if isinstance(engine, str) else None
            if isinstance(engine, CachedEngine):
                try:
                    return engine, (load(engine) if load else None)
                except EngineRefused as error:
                    problem = f"the runtime refused the engine ({one_line(error)})"
                    self._suspect = engine.entry_record.get("engine_file")
            assert problem is not None
            # Only the claim's holder moves the entry aside, and only while it is still the one
            # found bad (else a slow worker could move aside a good entry built meanwhile).
            claim = self._entry_is(key, self._suspect) and self._claim_or_take_over(key)
            if not claim:
                time.sleep(self.poll_interval_s)
                continue  # another worker moves it aside (and rebuilds), or already did
            if not self._entry_is(key, self._suspect):
                self.store.delete(f"{key.folder}/{CLAIM_FILE}", claim[1])
                continue
            failures.append(problem)
            moved = self._move_aside(key.folder)  # the claim moves aside with the entry
            self.metrics.count("bad_entries")
            LOG.warning("engine cache entry %s: %s; moved to %s", key.folder, problem, moved)
            if len(failures) > 1:
                raise EngineCacheError(
                    f"engine cache entry {self.store.location}{key.folder}: bad twice "
                    f"({failures[0]}; then {failures[1]}); the bad copies are in "
                    f"{self.store.location}{key.folder}.bad-*"
                )

    def _hit_or_build(
        self,
        key: CacheKey,
        local_onnx: str,
        onnx_path: str,
        gpu: GpuTarget,
        settings: BuildSettings,
        builder: EntryBuilder,
    ) -> CachedEngine | str:
        """The engine, or a string saying why the entry that exists is bad."""
        started = self.clock()
        waited = False
        last_log: float | None = None
        while True:
            found = self.store.read(f"{key.folder}/{ENTRY_FILE}")
            if found is not None:
                engine = self._verify(key, json.loads(found[0]), "waited" if waited else "found")
                if isinstance(engine, CachedEngine):
                    if waited:
                        self.metrics.seconds("wait_seconds", self.clock() - started)
                    self.metrics.count("hits")
                return engine
            claim = self._claim(key)
            if claim is not None:
                if self.store.read(f"{key.folder}/{ENTRY_FILE}") is not None:
                    # The builder before us published and dropped its claim between our read
                    # of the entry and our claim: give ours back and serve its engine.
                    self.store.delete(f"{key.folder}/{CLAIM_FILE}", claim[1])
                    continue
                return self._build(key, claim, local_onnx, onnx_path, gpu, settings, builder)
            waited = True
            current = self.store.read(f"{key.folder}/{CLAIM_FILE}")
            if current is None:
                continue
            holder = json.loads(current[0])
            if self.clock() - holder["since_epoch"] > self.stale_after_s:
                claim = self._take_over(key, holder, current[1])
                if claim is not None:
                    return self._build(key, claim, local_onnx, onnx_path, gpu, settings, builder)
            if last_log is None or self.clock() - last_log >= self.wait_log_interval_s:
                last_log = self.clock()
                LOG.info(
                    "waiting for the %s engine built by %s since %s",
                    gpu.short_name,
                    holder["worker"],
                    holder["since"],
                )
            time.sleep(self.poll_interval_s)

    def _claim_record(self, takeover_of: dict[str, Any] | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "worker": self.worker,
            "since": _now(),
            "since_epoch": self.clock(),
            "token": uuid.uuid4().hex[:16],
            "takes_over": None,
        }
        if takeover_of is not None:
            record["takes_over"] = {key: takeover_of[key] for key in ("worker", "since", "token")}
        return record

    def _entry_is(self, key: CacheKey, engine_file: str | None) -> bool:
        current = self.store.read(f"{key.folder}/{ENTRY_FILE}")
        return current is not None and json.loads(current[0]).get("engine_file") == engine_file

    def _claim_or_take_over(self, key: CacheKey) -> tuple[dict[str, Any], str] | None:
        """The entry's claim: created, or taken over from a holder older than the limit."""
        claim = self._claim(key)
        if claim is not None:
            return claim
        current = self.store.read(f"{key.folder}/{CLAIM_FILE}")
        if current is None:
            return None
        holder = json.loads(current[0])
        if self.clock() - holder["since_epoch"] <= self.stale_after_s:
            return None
        return self._take_over(key, holder, current[1])

    def _claim(self, key: CacheKey) -> tuple[dict[str, Any], str] | None:
        record = self._claim_record()
        generation = self.store.create(f"{key.folder}/{CLAIM_FILE}", _json(record))
        return None if generation is None else (record, generation)

    def _take_over(
        self, key: CacheKey, stale: dict[str, Any], generation: str
    ) -> tuple[dict[str, Any], str] | None:
        record = self._claim_record(stale)
        new = self.store.replace(f"{key.folder}/{CLAIM_FILE}", _json(record), generation)
        if new is None:
            return None
        self.metrics.count("takeovers")
        LOG.warning(
            "engine cache entry %s: the claim of %s since %s is older than %.0f s; "
            "%s takes over the build",
            key.folder,
            stale["worker"],
            stale["since"],
            self.stale_after_s,
            self.worker,
        )
        return record, new

    def _build(
        self,
        key: CacheKey,
        claim: tuple[dict[str, Any], str],
        local_onnx: str,
        onnx_path: str,
        gpu: GpuTarget,
        settings: BuildSettings,
        builder: EntryBuilder,
    ) -> CachedEngine | str:
        record, generation = claim
        folder = key.folder
        started = time.monotonic()
        scratch = tempfile.mkdtemp(prefix="engine-cache-build-")
        try:
            timing_cache = None
            if builder.has_timing_cache:
                timing_cache = os.path.join(scratch, TIMING_CACHE_FILE)
                previous = self.store.read(f"{folder}/{TIMING_CACHE_FILE}")
                if previous is not None:
                    with open(timing_cache, "wb") as stream:
                        stream.write(previous[0])
            engine_path = os.path.join(scratch, ENGINE_FILE)
            try:
                sidecar = builder.build(local_onnx, engine_path, gpu, settings, timing_cache)
            except BaseException:
                # A build that fails here fails alike on the next worker: give the claim
                # back so that the others do not wait for a stale limit, and say why.
                self.store.delete(f"{folder}/{CLAIM_FILE}", generation)
                raise
            seconds = time.monotonic() - started
            sidecar = sidecar.model_copy(
                update={"onnx_path": onnx_path, "tokenizer": _bundle_directory(onnx_path)}
            )
            engine_file = f"engine-{record['token']}.plan"
            self.store.upload(f"{folder}/{engine_file}", engine_path)
            if timing_cache is not None and os.path.exists(timing_cache):
                self.store.upload(f"{folder}/{TIMING_CACHE_FILE}", timing_cache)
            entry = {
                "key": key.as_dict(),
                "key_digest": key.digest,
                "engine_file": engine_file,
                "engine_sha256": sidecar.engine_sha256,
                "engine_size": os.path.getsize(engine_path),
                "built_by": self.worker,
                "built_at": _now(),
                "build_seconds": round(seconds, 3),
                "claim": {k: record[k] for k in ("worker", "since", "token", "takes_over")},
                "sidecar": json.loads(sidecar.model_dump_json()),
            }
            published = self.store.create(f"{folder}/{ENTRY_FILE}", _json(entry))
            if published is None:
                # Someone else's (a takeover's) entry is already there: ours is not used.
                self.store.delete(f"{folder}/{CLAIM_FILE}", generation)
                found = self.store.read(f"{folder}/{ENTRY_FILE}")
                assert found is not None
                return self._verify(key, json.loads(found[0]), "waited")
            self.metrics.count("builds")
            self.metrics.seconds("build_seconds", seconds)
            self.store.delete(f"{folder}/{CLAIM_FILE}", generation)
            local = os.path.join(self._local_folder(key), ENGINE_FILE)
            shutil.copyfile(engine_path, local)
            return self._finish(local, sidecar, folder, "built", entry)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _verify(self, key: CacheKey, entry: dict[str, Any], outcome: str) -> CachedEngine | str:
        """Download the entry's engine and check it against the entry; a reason when bad."""
        self._suspect = entry.get("engine_file")
        if entry.get("key") != key.as_dict():
            return f"its key {entry.get('key')} is not the wanted {key.as_dict()}"
        try:
            sidecar = EngineSidecar.model_validate(entry["sidecar"])
            copied = self.store.local_copy(f"{key.folder}/{entry['engine_file']}")
        except Exception as error:
            return f"unreadable ({one_line(error)})"
        digest = sha256_of(copied)
        if digest != entry["engine_sha256"] or digest != sidecar.engine_sha256:
            return f"engine SHA-256 {digest[:12]} is not the recorded {entry['engine_sha256'][:12]}"
        local = os.path.join(self._local_folder(key), ENGINE_FILE)
        shutil.copyfile(copied, local)
        if sha256_of(local) != digest:
            return "the local copy changed while copied"
        return self._finish(local, sidecar, key.folder, outcome, entry)

    def _local_folder(self, key: CacheKey) -> str:
        folder = os.path.join(model_files.cache_root(), "engines", key.folder)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        return folder

    def _finish(
        self, local: str, sidecar: EngineSidecar, folder: str, outcome: str, entry: dict[str, Any]
    ) -> CachedEngine:
        with open(sidecar_path_for(local), "w", encoding="utf-8") as stream:
            stream.write(sidecar.model_dump_json(indent=2) + "\n")
        return CachedEngine(local, sidecar, folder, outcome, entry)

    def _move_aside(self, folder: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
        target = f"{folder}.bad-{stamp}"
        self.store.move_folder(folder, target)
        return self.store.location.rstrip("/") + "/" + target


def _json(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()


def _bundle_directory(onnx_path: str) -> str:
    if onnx_path.startswith("gs://"):
        return onnx_path.rsplit("/", 1)[0] + "/"
    return os.path.dirname(os.path.abspath(onnx_path))


def _local_bundle_onnx(onnx_path: str) -> str:
    """A local path of the ONNX file with its bundle (bundle.json, tokenizer) beside it."""
    if model_files.is_local(onnx_path):
        return onnx_path
    directory = model_files.cache_directory(_bundle_directory(onnx_path))
    return os.path.join(directory, onnx_path.rsplit("/", 1)[1])
