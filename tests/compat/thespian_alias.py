"""pytest plugin: run Thespian's own test suite against pykka_rs.thespian.

Loaded with `-p thespian_alias`, with `thespian_shim` on PYTHONPATH (so the
`thespian` package is the alias, in worker processes too) and
`$THESPIAN_SDIST` naming the unpacked sdist. Each test that does not apply
is skipped with its reason, from `thespian_not_applicable.NOT_APPLICABLE`;
so is each system base variant of Thespian's `asys` fixture that is not one
of ours (`$THESPIAN_BASES`, comma-separated, chooses among ours).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import pytest
from thespian_not_applicable import NOT_APPLICABLE

import pykka_rs
import pykka_rs.thespian

if TYPE_CHECKING:
    from pathlib import Path

BASES = os.environ.get(
    "THESPIAN_BASES",
    "simpleSystemBase,multiprocQueueBase,multiprocTCPBase,multiprocUDPBase",
).split(",")

_ADMIN_ROUTING = (
    "Thespian's TCP transport options (routing through the admin, outbound-only "
    "connections) have no meaning here: the multiproc bases share pykka_rs's own "
    "transport, which multiprocTCPBase runs already"
)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run against anything but the alias (the real Thespian, say)."""
    del config
    import thespian.actors  # noqa: PLC0415

    if thespian.actors is not pykka_rs.thespian:
        raise pytest.UsageError(
            f"`thespian` is not the alias but {thespian.__file__}: put thespian_shim "
            "first on PYTHONPATH and run python with -P "
            "(no current directory on sys.path)"
        )


def pytest_report_header() -> str:
    bases = ", ".join(BASES)
    return f"thespian -> pykka_rs.thespian ({pykka_rs.__file__}), bases: {bases}"


def _base_of(item: pytest.Item) -> str | None:
    match = re.search(r"\[([^\]]*)\]$", item.nodeid)
    if match is None:
        return None
    for part in match.group(1).split("-"):
        if part.startswith(("simpleSystemBase", "multiproc")):
            return (
                part
                if not match.group(1).endswith(("AdminRouting", "AdminRoutingTXOnly"))
                else "routing"
            )
    return None


def _reason(item: pytest.Item, base: str | None) -> str | None:
    path = item.nodeid.split("::")[0]
    for key in (
        item.nodeid,
        re.sub(r"\[.*\]$", "", item.nodeid),
        f"{path}[{base}]",
        path,
    ):
        if key in NOT_APPLICABLE:
            return NOT_APPLICABLE[key]
    return None


_not_collected: dict[str, str] = {}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out a whole file that does not apply (it may not even import)."""
    try:
        relative = collection_path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return None
    reason = NOT_APPLICABLE.get(relative)
    if reason is None:
        return None
    _not_collected[relative] = reason
    return True


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name each file left out, with its reason."""
    if _not_collected:
        terminalreporter.section("not applicable, not collected")
        for path, reason in sorted(_not_collected.items()):
            terminalreporter.write_line(f"{path}: {reason}")


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    kept, dropped = [], []
    for item in items:
        base = _base_of(item)
        if base == "routing":
            item.add_marker(
                pytest.mark.skip(reason=f"not applicable: {_ADMIN_ROUTING}")
            )
        elif base is not None and base not in BASES:
            dropped.append(item)
            continue
        reason = _reason(item, base)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"not applicable: {reason}"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
