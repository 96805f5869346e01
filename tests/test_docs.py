"""The Python examples in README.md and docs/ run as written (in a scratch folder)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    "README.md",
    "docs/cost.md",
    "docs/embedded.md",
    "docs/forecasting.md",
    "docs/interop.md",
    "docs/performance.md",
    "docs/scaling.md",
]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("doc", DOCS)
def test_examples_run(doc, tmp_path, monkeypatch):
    blocks = python_blocks(ROOT / doc)
    assert blocks, f"{doc} has no python examples"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, doc, "exec"), namespace)  # one namespace, as a reader runs them
