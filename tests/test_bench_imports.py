"""The benchmarks (`make bench`, never run by the suite) still import against the code they measure."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("name", sorted(path.stem for path in BENCH.glob("*.py")))
def test_each_benchmark_module_imports(name):
    importlib.import_module(f"bench.{name}")
