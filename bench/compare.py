"""This checkout's benchmarks beside another commit's, measured in one run.

    python bench/compare.py BASE [--suites rpc eval sessions …] [--rounds N] [--full]

Checks BASE (a commit, e.g. the one before a change) out into a temporary worktree, then runs each
suite's script from both checkouts in turn, each from its own tree (its daemon started from that
tree's code). The order swaps every round (base, this; this, base; …): a machine whose speed drifts
during the run, or that favours whichever runs second, loads both alike. For every figure both
report: the median over rounds of each, the ratio this/base of the medians, and the middle half of
the rounds' own ratios (this round's figure over the base's in the same round), which shows how far
the machine's noise moves the ratio. Suites run with --quick unless --full. Prints a table and
writes bench/results/compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.worktree import checked_out  # noqa: E402

SUITES = ["rpc", "eval", "sessions", "debugger", "timeline"]
RESULTS = HERE / "results"


def run_suite(tree: Path, suite: str, full: bool) -> dict[str, float]:
    """One run of `tree`'s bench/SUITE.py (its modules first on the path); its figures."""
    script = tree / "bench" / f"{suite}.py"
    args = [sys.executable, str(script)] + ([] if full else ["--quick"])
    env = dict(os.environ, PYTHONPATH=str(tree))
    subprocess.run(args, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    return dict(_numbers(json.loads((tree / "bench" / "results" / f"{suite}.json").read_text())))


def _numbers(figures: object, prefix: str = "") -> list[tuple[str, float]]:
    """The numbers in a suite's JSON, by dotted path."""
    if isinstance(figures, dict):
        return [pair for key, value in figures.items()
                for pair in _numbers(value, f"{prefix}{key}.")]
    if isinstance(figures, int | float) and not isinstance(figures, bool):
        return [(prefix.rstrip("."), float(figures))]
    return []


def compare(base: Path, suites: list[str], rounds: int, full: bool) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for suite in suites:
        if not (base / "bench" / f"{suite}.py").exists():
            print(f"{suite}: not in the base checkout, skipped")
            continue
        runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
        trees = {"base": base, "this": ROOT}
        for i in range(rounds):
            for name in ("base", "this") if i % 2 == 0 else ("this", "base"):
                runs[name].append(run_suite(trees[name], suite, full))
        for key in sorted(set(runs["base"][0]) & set(runs["this"][0])):
            table[f"{suite}.{key}"] = _row([r.get(key) for r in runs["base"]],
                                           [r.get(key) for r in runs["this"]])
    return table


def _row(base: list[float | None], this: list[float | None]) -> dict[str, float]:
    """One figure over the rounds: the medians, their ratio, and the quartiles of the rounds'
    own ratios."""
    pairs = [(b, t) for b, t in zip(base, this, strict=True) if b is not None and t is not None]
    b = statistics.median(p[0] for p in pairs)
    t = statistics.median(p[1] for p in pairs)
    ratios = [t_ / b_ for b_, t_ in pairs if b_] or [float("nan")]
    if len(ratios) > 1:
        q1, _, q3 = statistics.quantiles(ratios, n=4)
    else:
        q1 = q3 = ratios[0]
    return {"base": b, "this": t, "ratio": t / b if b else float("nan"),
            "round_ratio_q1": q1, "round_ratio_q3": q3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the commit to measure beside this checkout")
    parser.add_argument("--suites", nargs="+", default=SUITES, choices=SUITES)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="the suites' full sizes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="omega-base-") as tmp, \
            checked_out(args.base, Path(tmp) / "base") as base:
        table = compare(base, args.suites, args.rounds, args.full)
    print(f"\nbase {args.base} vs this checkout, median of {args.rounds} rounds each "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(f"{'measure':48} {'base':>12} {'this':>12} {'ratio':>7}  rounds' ratios (middle half)")
    for key, row in table.items():
        print(f"{key:48} {row['base']:12.3f} {row['this']:12.3f} {row['ratio']:7.3f}  "
              f"{row['round_ratio_q1']:.3f}–{row['round_ratio_q3']:.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "compare.json").write_text(json.dumps({"base": args.base, **table}, indent=2))


if __name__ == "__main__":
    main()
