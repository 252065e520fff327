"""Model files on local disk or gs://: read small files, cache large ones locally.

Remote files go through Beam's `FileSystems`, so any filesystem Beam knows
(gs://, and the GCS emulator in tests) works the same way. Local paths need no
Beam: the backends and their GPU tests load local models where Beam is absent.

The cache of remote files cannot serve the wrong model:
- it lives in a directory private to this process (created with mode 0700 by
  `tempfile.mkdtemp`, removed when the process exits), so no other local user
  can plant a file there and no earlier run's copy is reused;
- each entry is keyed by the object's path AND its checksum (GCS: the object's
  CRC32C, which changes with every new generation), so a model replaced at the
  same gs:// path is downloaded again;
- each download is verified against that checksum (GCS: the CRC32C of the bytes
  received; other filesystems: the checksum read again after the copy).
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from trt_text_classifier.errors import one_line, summarize_validation_error

ToolFile = TypeVar("ToolFile", bound=BaseModel)

CACHE_PREFIX = "trt_text_classifier_cache-"
DOWNLOAD_ATTEMPTS = 3
"""A download that does not match its checksum (the object changed meanwhile) is retried."""


class ModelFileError(OSError):
    """A remote model file could not be copied intact; the message says which and why."""


@dataclass
class _ProcessCache:
    """The private cache directory of one process (a forked child makes its own)."""

    pid: int = 0
    root: str = ""


_cache = _ProcessCache()
_SCHEME = re.compile(r"^([a-zA-Z][-a-zA-Z0-9+.]*)://")
"""How Beam's `FileSystems.get_scheme` recognises a scheme."""


def _beam() -> tuple[Any, Any]:
    """Beam's (FileSystems, CompressionTypes), imported only for paths that need them."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems, CompressionTypes


def is_local(path: str) -> bool:
    match = _SCHEME.match(path)
    return match is None or match.group(1).lower() == "file"


def read_text(path: str) -> str:
    if not _SCHEME.match(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    file_systems, compression = _beam()
    with file_systems.open(path, compression_type=compression.UNCOMPRESSED) as handle:
        return handle.read().decode("utf-8")


class ToolFileError(ValueError):
    """A manifest or sidecar that cannot be used; the message says why, after the file's path."""


def read_tool_file(path: str, model: type[ToolFile]) -> ToolFile:
    """A JSON file a tool wrote (`bundle.json`, `E.plan.json`), read and validated as `model`.

    Every way it can fail is one `ToolFileError` line: the launch checks and a
    streaming job's model swap put the path (and the parameter) in front of it.
    """
    if is_directory(path):
        raise ToolFileError("is a directory; it must be the JSON file the tool wrote")
    try:
        text = read_text(path)
    except UnicodeDecodeError as error:
        raise ToolFileError(
            f"is not UTF-8 (byte {error.start}); write it again with the tool"
        ) from None
    except Exception as error:
        raise ToolFileError(f"cannot be read: {one_line(error)}") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as error:
        raise ToolFileError(f"is invalid: {summarize_validation_error(error)}") from None


def read_description(
    model_path: str,
    description_path: str,
    model: type[ToolFile],
    *,
    missing_model: str,
    missing_description: str,
) -> ToolFile:
    """The JSON file that describes a model, read from beside it (bundle.json, E.plan.json).

    The one reader of a model's description, for the launch checks and a model swap alike.
    Raises `ToolFileError` with one line: `missing_model` when the model is absent,
    `missing_description` (with `{path}` filled in) when its description is, else the
    description's path and what is wrong with it.
    """
    if not exists(model_path):
        raise ToolFileError(missing_model)
    if not exists(description_path):
        raise ToolFileError(missing_description.format(path=description_path))
    try:
        return read_tool_file(description_path, model)
    except ToolFileError as error:
        raise ToolFileError(f"{description_path} {error}") from None


def exists(path: str) -> bool:
    return _beam()[0].exists(path)


def is_directory(path: str) -> bool:
    """A local directory (gs:// has none: a prefix is not a file)."""
    return is_local(path) and os.path.isdir(path)


def cache_root() -> str:
    """This process's private cache directory (0700, owned by the user), created on first use."""
    if _cache.pid != os.getpid() or not os.path.isdir(_cache.root):
        _cache.root = tempfile.mkdtemp(prefix=CACHE_PREFIX)
        _cache.pid = os.getpid()
        atexit.register(shutil.rmtree, _cache.root, True)
    return _cache.root


def cache_file(path: str) -> str:
    """A local path holding the file's current bytes; remote files are copied once per version."""
    if is_local(path):
        return path
    file_systems, _ = _beam()
    checksum = file_systems.checksum(path)
    target = os.path.join(_entry_directory(f"{path}\0{checksum}"), os.path.basename(path))
    if not os.path.exists(target):
        _download(path, target, checksum)
    return target


def cache_directory(directory: str) -> str:
    """A local directory with the files directly under `directory` (not recursive)."""
    if is_local(directory):
        return directory
    file_systems, _ = _beam()
    prefix = directory.rstrip("/") + "/"
    files = {}
    for match in file_systems.match([prefix + "*"])[0].metadata_list:
        name = match.path[len(prefix) :]
        if name and "/" not in name:
            files[name] = file_systems.checksum(match.path)
    key = prefix + "".join(f"\0{name}\0{checksum}" for name, checksum in sorted(files.items()))
    target = _entry_directory(key)
    for name, checksum in files.items():
        local = os.path.join(target, name)
        if not os.path.exists(local):
            _download(prefix + name, local, checksum)
    return target


def _entry_directory(key: str) -> str:
    path = os.path.join(cache_root(), hashlib.sha256(key.encode()).hexdigest()[:32])
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _download(remote: str, local: str, checksum: str) -> None:
    """Copy via a temporary name, verified, so the cache never holds a partial or stale file."""
    file_systems, compression = _beam()
    partial = f"{local}.partial"
    for _ in range(DOWNLOAD_ATTEMPTS):
        with (
            file_systems.open(remote, compression_type=compression.UNCOMPRESSED) as source,
            open(partial, "wb") as target,
        ):
            shutil.copyfileobj(source, target, length=8 << 20)
        if _matches(remote, partial, checksum):
            os.replace(partial, local)
            return
        checksum = file_systems.checksum(remote)
    os.remove(partial)
    raise ModelFileError(
        f"{remote}: the copied bytes never matched the object's checksum in "
        f"{DOWNLOAD_ATTEMPTS} attempts; is something rewriting it? Retry when it is stable"
    )


def _matches(remote: str, local: str, checksum: str) -> bool:
    file_systems, _ = _beam()
    if file_systems.get_scheme(remote) == "gs":
        return gcs_crc32c(local) == checksum
    return file_systems.checksum(remote) == checksum


def gcs_crc32c(path: str) -> str:
    """A local file's CRC32C as GCS reports it: base64 of the big-endian 32-bit value."""
    import google_crc32c

    checksum = google_crc32c.Checksum()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            checksum.update(block)
    return base64.b64encode(checksum.digest()).decode()
