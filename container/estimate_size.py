"""Estimate the Python layer of the image from the packages' own files on PyPI.

For every pin in container/requirements.txt it picks the file pip would install
on the image (CPython 3.12, manylinux x86_64, else pure Python, else the sdist)
and reports its size (what the layer adds compressed, roughly: wheels are zip
files) and the sum of its members' uncompressed sizes (what it adds unpacked),
read from the wheel's zip directory with HTTP range requests (no full download).

    python container/estimate_size.py [--top N] [--pin NAME==VERSION ...]

With --pin, only the named packages are sized (e.g. CUDA libraries a base image
carries, to see what a smaller base would leave out).

Needs access to pypi.org and files.pythonhosted.org. The NGC base image and
Beam's boot files are not on PyPI: see docs/operations.md ("Image size") for those.
"""

from __future__ import annotations

import argparse
import io
import json
import pathlib
import re
import urllib.request
import zipfile

REQUIREMENTS = pathlib.Path(__file__).with_name("requirements.txt")
SIMPLE = "https://pypi.org/simple/{name}/"
ACCEPT = "application/vnd.pypi.simple.v1+json"


class RangeFile(io.RawIOBase):
    """A seekable read-only view of a remote file, fetched by HTTP range requests."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.position = url, size, 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = base + offset
        return self.position

    def read(self, count: int = -1) -> bytes:
        end = self.size if count < 0 else min(self.size, self.position + count)
        if end <= self.position:
            return b""
        request = urllib.request.Request(
            self.url, headers={"Range": f"bytes={self.position}-{end - 1}"}
        )
        data = urllib.request.urlopen(request, timeout=60).read()
        self.position += len(data)
        return data


def pins() -> list[tuple[str, str]]:
    text = REQUIREMENTS.read_text()
    return re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$", text, re.M)


def chosen_file(name: str, version: str) -> dict:
    request = urllib.request.Request(SIMPLE.format(name=name), headers={"Accept": ACCEPT})
    files = json.load(urllib.request.urlopen(request, timeout=60))["files"]
    mine = [f for f in files if _version_of(f["filename"], name) == version]

    def rank(entry: dict) -> int:
        filename = entry["filename"]
        if filename.endswith(".whl") and "cp312" in filename and "x86_64" in filename:
            return 0
        if filename.endswith(".whl") and ("-py3-none-" in filename or "-py2.py3-" in filename):
            return 1 if "any" in filename or "x86_64" in filename else 9
        return 5 if filename.endswith((".tar.gz", ".zip")) else 9

    return min(mine, key=rank)


def _version_of(filename: str, name: str) -> str:
    stem = re.sub(r"(\.tar\.gz|\.zip|\.whl)$", "", filename)
    normal = re.sub(r"[-_.]+", "_", name).lower()
    parts = re.sub(r"[-_.]+", "_", stem).lower()
    rest = stem[len(normal) + 1 :] if parts.startswith(normal + "_") else ""
    return rest.split("-")[0]


def unpacked_size(entry: dict) -> int:
    if not entry["filename"].endswith(".whl"):
        return entry["size"]
    with zipfile.ZipFile(RangeFile(entry["url"], entry["size"])) as wheel:
        return sum(member.file_size for member in wheel.infolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12, help="largest packages to list")
    parser.add_argument("--pin", action="append", default=[], help="size NAME==VERSION instead")
    args = parser.parse_args()
    chosen = [tuple(pin.split("==", 1)) for pin in args.pin] or pins()
    rows = []
    for name, version in chosen:
        entry = chosen_file(name, version)
        rows.append((name, version, entry["size"], unpacked_size(entry)))
    rows.sort(key=lambda row: -row[3])
    mib = 1 << 20
    for name, version, packed, unpacked in rows[: args.top]:
        pin = f"{name}=={version}"
        print(f"{pin:<42} {packed / mib:8.1f} MiB {unpacked / mib:8.1f} MiB unpacked")
    packed = sum(row[2] for row in rows)
    unpacked = sum(row[3] for row in rows)
    print(
        f"{len(rows)} packages: {packed / mib:.0f} MiB as files, {unpacked / mib:.0f} MiB unpacked"
    )


if __name__ == "__main__":
    main()
