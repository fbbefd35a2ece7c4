"""The one way a benchmark reports: a table on stdout (goals marked) and bench/results/NAME.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

Goals = dict[str, tuple[str, Callable[[float], bool]]]


def report(name: str, results: dict[str, float], goals: Goals) -> None:
    print(f"{'measure':32} {'value':>12}  goal")
    for key, value in results.items():
        goal, ok = goals.get(key, ("", None))
        mark = "" if ok is None else ("ok" if ok(value) else "MISSED")
        print(f"{key:32} {value:12.2f}  {goal} {mark}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
