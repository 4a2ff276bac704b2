"""Fetch and unpack the sdist of Thespian 4.0.1, for its tests and examples.

Usage: python thespian_sdist.py [CACHE_DIR]   prints the unpacked directory.

As with Pykka's (`sdist.py`), it comes from PyPI at test time and nothing
of it is kept in this repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sdist import unpacked

THESPIAN_VERSION = "4.0.1"


def unpacked_thespian(cache: Path | None = None) -> Path:
    """The directory of the unpacked Thespian sdist, fetching it if need be."""
    return unpacked("thespian", THESPIAN_VERSION, "thespian/test/__init__.py", cache)


if __name__ == "__main__":
    print(unpacked_thespian(Path(sys.argv[1]) if len(sys.argv) > 1 else None))  # noqa: T201
