"""The tests of Thespian's suite that do not apply to pykka_rs.thespian, and why.

Keys are pytest node ids relative to the unpacked sdist: a whole file
(`thespian/test/test_x.py`, then not even collected), a test without its
parameters (`...py::TestClass::test_name`), a test with them, or a file and
a system base (`...py[multiprocTCPBase]`: every test of that file
parametrised with that base).
"""

from __future__ import annotations

_CONVENTION = (
    "conventions of several actor systems (on other hosts, joined by admin "
    "ports) are not supported: one system runs per machine"
)
_SOURCE = (
    "loading actor source code at run time (zip files, source authorities) "
    "is not supported"
)
_TRANSPORT = (
    "tests Thespian's own transport internals, which pykka_rs replaces with its own"
)
_INTERNAL = "tests an internal helper of Thespian's implementation, not part of its API"
_STATUS = (
    "Thespian's status queries (Thespian_StatusReq) are internal; "
    "pykka_rs.stats() reports instead"
)

_RUNCOMMAND = (
    "thespian.runcommand is not provided: its RunCommand actor stays responsive "
    "through Thespian's file-descriptor watching (ThespianWatch), which has no "
    "counterpart here yet (see docs/thespian.md)"
)

# Thespian skips these itself on its simpleSystemBase and multiprocQueueBase;
# on its TCP and UDP bases they join several systems into a convention.
_SEVERAL_SYSTEMS = {
    f"thespian/test/{name}[{base}]": _CONVENTION
    for name in (
        "test_manyActorSystems.py",
        "test_multipleActorSystems.py",
        "test_updateSystemCapabilities.py",
    )
    for base in ("multiprocTCPBase", "multiprocUDPBase")
}

NOT_APPLICABLE: dict[str, str] = {
    **_SEVERAL_SYSTEMS,
    "thespian/test/test_runcommand.py": _RUNCOMMAND,
    "thespian/test/test_ipbase.py": _TRANSPORT,
    "thespian/test/test_timing.py": _INTERNAL + " (ExpirationTimer)",
    "thespian/test/test_preRegistration.py": _CONVENTION,
    "thespian/test/test_stats.py": _STATUS,
    "thespian/test/test_sourceLoading.py": _SOURCE,
    "thespian/test/test_director.py": _SOURCE
    + " (the director manages loadable source groups)",
    "thespian/test/test_HAConvention.py": _CONVENTION,
    "thespian/test/test_troupe.py::testLoadableHive": _SOURCE,
    "thespian/test/test_troupe.py::testLoadableColony": _SOURCE,
    "thespian/test/test_threadedExternal.py::TestFuncThreadedExternal::"
    "test_multiple_threads_private_context_ask[simpleSystemBase-100]": (
        "the synchronous base runs all 100 threads' 2000 asks, each sleeping up to "
        "70 ms, one after another in whichever thread calls in: over a minute by "
        "design (as with Thespian's own simpleSystemBase), beyond the per-test timeout"
    ),
}
