"""Model files on local disk or gs://: read small files, cache large ones locally.

Everything goes through Beam's `FileSystems`, so any filesystem Beam knows
(local, gs://, and the GCS emulator in tests) works the same way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

CACHE_ROOT = os.path.join(tempfile.gettempdir(), "trt_text_classifier_cache")


def is_local(path: str) -> bool:
    return FileSystems.get_scheme(path) in (None, "file")


def read_text(path: str) -> str:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return handle.read().decode("utf-8")


def exists(path: str) -> bool:
    return FileSystems.exists(path)


def cache_file(path: str) -> str:
    """A local path holding the file's bytes; remote files are copied once per process."""
    if is_local(path):
        return path
    target = os.path.join(_cache_directory(os.path.dirname(path)), os.path.basename(path))
    if not os.path.exists(target):
        _copy_to(path, target)
    return target


def cache_directory(directory: str) -> str:
    """A local directory with the files directly under `directory` (not recursive)."""
    if is_local(directory):
        return directory
    target = _cache_directory(directory)
    prefix = directory.rstrip("/") + "/"
    for match in FileSystems.match([prefix + "*"])[0].metadata_list:
        name = match.path[len(prefix) :]
        if "/" in name or not name:
            continue
        local = os.path.join(target, name)
        if not os.path.exists(local):
            _copy_to(match.path, local)
    return target


def _cache_directory(remote_directory: str) -> str:
    key = hashlib.sha256(remote_directory.rstrip("/").encode()).hexdigest()[:16]
    path = os.path.join(CACHE_ROOT, key)
    os.makedirs(path, exist_ok=True)
    return path


def _copy_to(remote: str, local: str) -> None:
    """Copy via a temporary name so a crash never leaves a half-written cache entry."""
    partial = f"{local}.partial-{os.getpid()}"
    with (
        FileSystems.open(remote, compression_type=CompressionTypes.UNCOMPRESSED) as source,
        open(partial, "wb") as target,
    ):
        shutil.copyfileobj(source, target, length=8 << 20)
    os.replace(partial, local)
