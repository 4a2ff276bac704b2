"""An import alias: `thespian` and its modules are pykka_rs.thespian's.

On `sys.path` (PYTHONPATH) ahead of everything else, this package makes
`import thespian.actors` (and `.troupe`, `.transient`, `.initmsgs`,
`.runcommand`, `.system.timing`, `.system.utilis`) give the pykka_rs
modules themselves. Worker processes inherit PYTHONPATH, so they resolve
the same names the same way.

`thespian.test` (Thespian's own test package, with the fixtures its tests
import) comes from the unpacked Thespian sdist named by `$THESPIAN_SDIST`;
nothing else of the real Thespian is ever imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path

_ALIASES = {
    "thespian.actors": "pykka_rs.thespian",
    "thespian.troupe": "pykka_rs.thespian.troupe",
    "thespian.transient": "pykka_rs.thespian.transient",
    "thespian.initmsgs": "pykka_rs.thespian.initmsgs",
    "thespian.runcommand": "pykka_rs.thespian.runcommand",
    "thespian.system.timing": "pykka_rs.thespian.timing",
    "thespian.system.utilis": "pykka_rs.thespian.utilis",
}


def _install() -> None:
    system = types.ModuleType("thespian.system")
    system.__path__ = []  # a package with nothing but the aliases below
    sys.modules["thespian.system"] = system
    for alias, name in _ALIASES.items():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue  # not provided: importing it fails as for any missing module
        sys.modules[alias] = module
        parent, _, child = alias.rpartition(".")
        setattr(sys.modules[parent], child, module)
    sdist = os.environ.get("THESPIAN_SDIST")
    if sdist:
        tests = Path(sdist) / "thespian" / "test"
        spec = importlib.util.spec_from_file_location(
            "thespian.test",
            tests / "__init__.py",
            submodule_search_locations=[str(tests)],
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["thespian.test"] = module
        spec.loader.exec_module(module)


_install()
