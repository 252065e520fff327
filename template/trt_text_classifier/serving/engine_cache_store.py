"""Where an engine cache keeps its entries: a local folder or a Cloud Storage prefix, with the create-only and generation-matched writes the claim protocol needs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from typing import Any, Protocol

from trt_text_classifier import model_files
from trt_text_classifier.errors import one_line


class EngineCacheError(RuntimeError):
    """The cache cannot give an engine; one line naming the entry and the reason."""


class EntryStore(Protocol):
    """Objects named `FOLDER/FILE` under the cache root; generations are opaque tokens."""

    location: str

    def read(self, name: str) -> tuple[bytes, str] | None: ...
    def create(self, name: str, data: bytes) -> str | None: ...
    def replace(self, name: str, data: bytes, generation: str) -> str | None: ...
    def delete(self, name: str, generation: str) -> None: ...
    def upload(self, name: str, local_path: str) -> None: ...
    def local_copy(self, name: str) -> str: ...
    def move_folder(self, folder: str, target: str) -> None: ...
    def names(self) -> list[str]: ...
    def size(self, name: str) -> int: ...
    def check_writable(self) -> None: ...


class LocalStore:
    """A local (or mounted) folder. Create-only is `link(2)` of a fully written temporary
    file (atomic, and no reader sees a half-written claim; `O_CREAT|O_EXCL` would expose an
    empty one); a takeover first creates `claim.json.takeover-GEN` create-only, so only one
    taker per stale generation wins, then renames its claim over the stale one."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.location = self.root

    def _path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _temporary(self, name: str, data: bytes) -> str:
        folder = os.path.dirname(self._path(name))
        os.makedirs(folder, exist_ok=True)
        handle, path = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        os.fchmod(handle, 0o644)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        return path

    def read(self, name: str) -> tuple[bytes, str] | None:
        try:
            with open(self._path(name), "rb") as stream:
                data = stream.read()
        except FileNotFoundError:
            return None
        return data, hashlib.sha256(data).hexdigest()[:16]

    def create(self, name: str, data: bytes) -> str | None:
        temporary = self._temporary(name, data)
        try:
            os.link(temporary, self._path(name))
        except FileExistsError:
            return None
        finally:
            os.unlink(temporary)
        return hashlib.sha256(data).hexdigest()[:16]

    def replace(self, name: str, data: bytes, generation: str) -> str | None:
        current = self.read(name)
        if current is None or current[1] != generation:
            return None
        if self.create(f"{name}.takeover-{generation}", data) is None:
            return None
        os.replace(self._temporary(name, data), self._path(name))
        return hashlib.sha256(data).hexdigest()[:16]

    def delete(self, name: str, generation: str) -> None:
        current = self.read(name)
        if current is not None and current[1] == generation:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(name))

    def upload(self, name: str, local_path: str) -> None:
        temporary = self._temporary(name, b"")
        shutil.copyfile(local_path, temporary)
        os.replace(temporary, self._path(name))

    def local_copy(self, name: str) -> str:
        return self._path(name)

    def move_folder(self, folder: str, target: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # another worker moved it first
            os.rename(self._path(folder), self._path(target))

    def names(self) -> list[str]:
        found: list[str] = []
        if not os.path.isdir(self.root):
            return found
        for folder in sorted(os.listdir(self.root)):
            path = self._path(folder)
            if os.path.isdir(path):
                found.extend(f"{folder}/{name}" for name in sorted(os.listdir(path)))
        return found

    def size(self, name: str) -> int:
        return os.path.getsize(self._path(name))

    def check_writable(self) -> None:
        if not os.path.isdir(self.root):
            raise EngineCacheError(f"{self.root}: no such folder; create it first")
        probe = f".write-check-{uuid.uuid4().hex}"
        try:
            with open(self._path(probe), "wb") as stream:
                stream.write(b"")
            os.unlink(self._path(probe))
        except OSError as error:
            raise EngineCacheError(f"{self.root}: not writable ({error.strerror})") from None


class GcsStore:
    """A gs://BUCKET/PREFIX/ location through google-cloud-storage (preconditions on
    generations: `if_generation_match=0` creates only, `=G` replaces only generation G)."""

    def __init__(self, location: str) -> None:
        match = re.match(r"^gs://([^/]+)/?(.*)$", location)
        if not match:
            raise EngineCacheError(f"{location}: expected gs://BUCKET/FOLDER/")
        self.location = location.rstrip("/") + "/"
        self.bucket_name = match.group(1)
        self.prefix = match.group(2).strip("/")
        self.prefix = self.prefix + "/" if self.prefix else ""
        self._bucket: Any = None

    @property
    def bucket(self) -> Any:
        if self._bucket is None:
            from google.cloud import storage

            if os.environ.get("STORAGE_EMULATOR_HOST"):
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(project="emulator", credentials=AnonymousCredentials())
            else:
                client = storage.Client()
            self._bucket = client.bucket(self.bucket_name)
        return self._bucket

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_bucket": None}

    def _failed(self) -> tuple[type[BaseException], ...]:
        from google.api_core import exceptions

        return (exceptions.PreconditionFailed, exceptions.NotFound)

    def read(self, name: str) -> tuple[bytes, str] | None:
        blob = self.bucket.get_blob(self.prefix + name)
        if blob is None:
            return None
        try:
            data = blob.download_as_bytes(if_generation_match=blob.generation)
        except self._failed():
            return self.read(name)
        return data, str(blob.generation)

    def _write(self, name: str, data: bytes, generation: int) -> str | None:
        blob = self.bucket.blob(self.prefix + name)
        try:
            blob.upload_from_string(data, if_generation_match=generation)
        except self._failed():
            return None
        return str(blob.generation)

    def create(self, name: str, data: bytes) -> str | None:
        return self._write(name, data, 0)

    def replace(self, name: str, data: bytes, generation: str) -> str | None:
        return self._write(name, data, int(generation))

    def delete(self, name: str, generation: str) -> None:
        with contextlib.suppress(*self._failed()):
            self.bucket.blob(self.prefix + name).delete(if_generation_match=int(generation))

    def upload(self, name: str, local_path: str) -> None:
        self.bucket.blob(self.prefix + name).upload_from_filename(local_path)

    def local_copy(self, name: str) -> str:
        return model_files.cache_file(self.location + name)

    def move_folder(self, folder: str, target: str) -> None:
        for blob in list(self.bucket.list_blobs(prefix=f"{self.prefix}{folder}/")):
            rest = blob.name[len(f"{self.prefix}{folder}/") :]
            self.bucket.copy_blob(blob, self.bucket, f"{self.prefix}{target}/{rest}")
            blob.delete()

    def names(self) -> list[str]:
        return sorted(
            blob.name[len(self.prefix) :] for blob in self.bucket.list_blobs(prefix=self.prefix)
        )

    def size(self, name: str) -> int:
        blob = self.bucket.get_blob(self.prefix + name)
        return 0 if blob is None else int(blob.size)

    def check_writable(self) -> None:
        from google.api_core import exceptions

        probe = self.bucket.blob(f"{self.prefix}.write-check-{uuid.uuid4().hex}")
        try:
            probe.upload_from_string(b"", if_generation_match=0)
            probe.delete()
        except exceptions.NotFound:
            raise EngineCacheError(
                f"{self.location}: bucket {self.bucket_name} does not exist"
            ) from None
        except exceptions.GoogleAPICallError as error:
            raise EngineCacheError(f"{self.location}: not writable ({one_line(error)})") from None


def open_store(location: str) -> EntryStore:
    return GcsStore(location) if location.startswith("gs://") else LocalStore(location)
