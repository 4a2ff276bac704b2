"""The Python examples in docs/ run, and print what their comments say.

Each ```python block of a page runs on its own, as a script in a fresh
interpreter. A line `print(...)  # text` promises that the next line of
output is `text`, where `...` in the text stands for anything, and what
follows a colon, comma or "about" after the output is a remark, not output:
`# 1: the reply is sent before the actor stops` promises the line `1`, and
"about 20" stands for any number. A block whose first line is `# not run`
is skipped (a skeleton, or one that needs what a page cannot give); one
whose first line is `# needs CPython 3.12` (interpreter actors) is skipped,
with that reason, on older interpreters, and runs on the others.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
PROMISE = re.compile(r"^\s*print\(.*\)\s+# (.+)$")
NEEDS_312 = "# needs CPython 3.12"


def blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for match in BLOCK.finditer(text):
            code = match.group(1)
            if code.startswith("# not run"):
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append((page.name, line, code))
    return found


def pattern(promise: str) -> str:
    escaped = re.escape(promise).replace(re.escape("..."), ".*")
    return re.sub(r"about\\ \d+(\\.\d+)?", r"[\\d.]+", escaped)


def matches(output: str, promise: str) -> bool:
    """Whether an output line keeps a promise, remarks and wildcards allowed."""
    if re.fullmatch(pattern(promise), output):
        return True
    # A remark after the output: "42: the answer", "ready, again".
    return any(
        re.fullmatch(pattern(promise[:cut]), output)
        for cut in (i for i, c in enumerate(promise) if c in ":,")
    )


@pytest.mark.parametrize(
    ("page", "line", "code"),
    [pytest.param(*block, id=f"{block[0]}:{block[1]}") for block in blocks()],
)
def test_a_documented_example_runs_and_prints_what_it_says(
    page: str, line: int, code: str, tmp_path: Path
) -> None:
    if code.startswith(NEEDS_312) and sys.version_info < (3, 12):
        pytest.skip(f"{page}:{line} needs CPython 3.12 or later (interpreter actors)")
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, "-P", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, f"{page}:{line} failed:\n{result.stderr}"
    promises = [m.group(1) for m in map(PROMISE.match, code.splitlines()) if m]
    printed = result.stdout.splitlines()
    # Promises come in the order of the code; output lines without one (a
    # print in a loop, say) may come between.
    position = 0
    for promise in promises:
        while position < len(printed) and not matches(printed[position], promise):
            position += 1
        assert position < len(printed), (
            f"{page}:{line}: no output line matches {promise!r}; printed:\n"
            f"{result.stdout}"
        )
        position += 1
