"""Run every benchmark: `python -m bench` (or `make bench`).

Each module in BENCHMARKS has a `main()`; adding a benchmark is one line here."""

from __future__ import annotations

import importlib

BENCHMARKS = [
    "bench.pages",
    "bench.audit_writes",
]


def main() -> None:
    for name in BENCHMARKS:
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
