"""Run one of Pykka's example programs against pykka_rs.

Usage: python run_example.py PATH [ARGS...]

Installs the `pykka` import alias (see `pykka_alias.py`), then runs PATH as
`__main__`, the way `python PATH` would.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from alias import install

if __name__ == "__main__":
    install()
    path = Path(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path.insert(0, str(path.parent))
    runpy.run_path(str(path), run_name="__main__")
