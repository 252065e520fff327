"""Model files on local disk or gs://: read small files, cache large ones locally.

Remote files go through Beam's `FileSystems`, so any filesystem Beam knows
(gs://, and the GCS emulator in tests) works the same way. Local paths need no
Beam: the backends and their GPU tests load local models where Beam is absent.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile

CACHE_ROOT = os.path.join(tempfile.gettempdir(), "trt_text_classifier_cache")
_SCHEME = re.compile(r"^([a-zA-Z][-a-zA-Z0-9+.]*)://")
"""How Beam's `FileSystems.get_scheme` recognises a scheme."""


def is_local(path: str) -> bool:
    match = _SCHEME.match(path)
    return match is None or match.group(1).lower() == "file"


def read_text(path: str) -> str:
    if is_local(path) and not _SCHEME.match(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        return handle.read().decode("utf-8")


def exists(path: str) -> bool:
    from apache_beam.io.filesystems import FileSystems

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
    from apache_beam.io.filesystems import FileSystems

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
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    partial = f"{local}.partial-{os.getpid()}"
    with (
        FileSystems.open(remote, compression_type=CompressionTypes.UNCOMPRESSED) as source,
        open(partial, "wb") as target,
    ):
        shutil.copyfileobj(source, target, length=8 << 20)
    os.replace(partial, local)
