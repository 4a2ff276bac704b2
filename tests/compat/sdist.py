"""Fetch and unpack the sdist of a released Pykka, for its tests and examples.

Usage: python sdist.py [CACHE_DIR]   prints the unpacked directory.

The sdist comes from PyPI with `pip download`, at test time; nothing of it
is kept in this repository. It is unpacked once per cache directory
(`$PYKKA_RS_CACHE`, else `.cache` in the repository).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

PYKKA_VERSION = "4.5.0"

REPO = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    return Path(os.environ.get("PYKKA_RS_CACHE", REPO / ".cache"))


def unpacked_pykka(cache: Path | None = None) -> Path:
    """The directory of the unpacked Pykka sdist, fetching it if need be."""
    return unpacked("pykka", PYKKA_VERSION, "tests/conftest.py", cache)


def unpacked(name: str, version: str, marker: str, cache: Path | None = None) -> Path:
    """The directory of the unpacked sdist of `name`, fetching it if need be.

    `marker` is a file of the sdist, relative to its top: it shows that an
    earlier run unpacked it completely.
    """
    cache = cache or cache_dir()
    target = cache / f"{name}-{version}"
    if (target / marker).is_file():
        return target
    downloads = cache / "downloads"
    archive = downloads / f"{name}-{version}.tar.gz"
    if not archive.is_file():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(downloads),
                f"{name}=={version}",
            ],
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    return target


if __name__ == "__main__":
    print(unpacked_pykka(Path(sys.argv[1]) if len(sys.argv) > 1 else None))  # noqa: T201
