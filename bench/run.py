"""Run every benchmark in bench/ (each prints its table and writes bench/results/<name>.json)."""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
SUITES = ["rpc.py", "eval.py", "sessions.py", "persistence.py", "big_journal.py", "big_state.py",
          "debugger.py", "timeline.py", "kernel.py", "abuse.py", "instructions.py"]


def main() -> None:
    sys.path.insert(0, str(HERE.parent))
    for name in SUITES:
        path = HERE / name
        if path.exists():
            print(f"\n## {name}")
            runpy.run_path(str(path), run_name="__main__")


if __name__ == "__main__":
    main()
