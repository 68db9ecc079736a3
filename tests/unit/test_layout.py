"""The test tree itself: pytest imports test modules by basename (prepend import mode, so that
helpers such as tiny_onnx.py import plainly), so two tiers must never hold modules of one name;
a duplicate stops the whole run at collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_module_basenames_are_unique_across_tiers():
    names = Counter(p.name for p in TESTS.rglob("*.py") if p.name != "conftest.py")
    assert [n for n, k in names.items() if k > 1] == []
