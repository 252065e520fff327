"""One model per worker VM, tokenized for by every SDK process: the backend shared across processes.

A GPU worker runs one SDK process per vCPU. Sharing the whole classifier
across them (Beam's `large_model`) funnels every `classify` call, tokenizing
and labelling included, into the one process that holds the model, so the
host work of all records runs on one core while the GPU waits. Here only the
backend is shared: a `BackendService` lives in its own process (Beam's
`MultiProcessShared` with `spawn_process`), each SDK process tokenizes its own
batches and sends the padded integer arrays; logits come back.

The service process is started by the first SDK process that asks for it and
ends with that process. Its server answers each connection on its own thread,
so the backend must be safe under concurrent `infer` calls (see the backends).
"""

from __future__ import annotations

import functools
import hashlib
import socket
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from apache_beam.utils.multi_process_shared import MultiProcessShared

from trt_text_classifier.backends.base import BackendLimits
from trt_text_classifier.serving.classifier import TextClassifier

ClassifierLoader = Callable[[str, str | None, int], TextClassifier]
"""(model path, tokenizer directory or None, max_seq_length) -> a loaded classifier."""


class BackendService:
    """What the serving process holds: a loaded classifier, of which only the backend is used."""

    def __init__(self, classifier: TextClassifier) -> None:
        self._classifier = classifier

    def describe(self) -> tuple[tuple[str, ...], BackendLimits, tuple[str, ...], str]:
        """(input names, limits, labels, identity): what a client needs before its first batch."""
        classifier = self._classifier
        backend = classifier.backend
        return (
            tuple(backend.input_names),
            backend.limits,
            tuple(classifier.labels),
            classifier.identity,
        )

    def infer(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self._classifier.backend.infer(inputs)


class SharedBackend:
    """An `InferenceBackend` whose `infer` runs in the service process.

    A call costs one local round trip plus pickling the padded arrays (a
    64 x 32 batch of three int64 inputs is 48 KiB) and the logits.
    """

    def __init__(self, shared: MultiProcessShared, service: Any) -> None:
        self._shared = shared
        self._service = service
        self._input_names, self._limits, self.labels, self.identity = service.describe()

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._input_names

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    def infer(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        _send_without_delay(self._service)
        return self._service.infer({name: inputs[name] for name in self._input_names})

    def close(self) -> None:
        self._shared.release(self._service)


def _send_without_delay(service: Any) -> None:
    """Turn Nagle's algorithm off on this thread's connection to the service.

    `multiprocessing.connection` sends a message above 16 KiB as a header and
    then the payload; with Nagle's algorithm on, the payload's last segment
    waits for the receiver's delayed acknowledgement, about 40 ms a call on
    Linux (measured: 50 ms per 64 x 32 batch against 5 ms for the backend).
    Each thread of an SDK process has its own connection, opened on its first call.
    """
    proxy = service.get_auto_proxy_object()
    if getattr(proxy._tls, "nodelay", False):
        return
    if not hasattr(proxy._tls, "connection"):
        proxy._connect()
    connection = socket.socket(fileno=proxy._tls.connection.fileno())
    try:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    finally:
        connection.detach()
    proxy._tls.nodelay = True


def _serve(loader: ClassifierLoader, model_path: str, tokenizer: str | None, length: int):
    return BackendService(loader(model_path, tokenizer, length))


def service_tag(model_path: str, loader: ClassifierLoader, max_seq_length: int) -> str:
    """The same in every SDK process of a job for the same model and loader (a file name).

    `repr` of a function holds its address, which differs between processes,
    so a loader is named by its module, qualified name and partial arguments.
    """
    parts = [model_path, str(max_seq_length)]
    target = loader
    while isinstance(target, functools.partial):
        parts.append(repr(target.args) + repr(sorted(target.keywords.items())))
        target = target.func
    parts.append(f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}")
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:20]
    return f"trt-text-classifier-backend-{digest}"


def acquire_shared_backend(
    model_path: str, tokenizer: str | None, max_seq_length: int, loader: ClassifierLoader
) -> SharedBackend:
    """The backend `loader` loads, served from one process on this machine for all callers."""
    shared = MultiProcessShared(
        functools.partial(_serve, loader, model_path, tokenizer, max_seq_length),
        tag=service_tag(model_path, loader, max_seq_length),
        always_proxy=True,
        spawn_process=True,
    )
    return SharedBackend(shared, shared.acquire())
