"""The stepping debugger: one run (run.py), what a session keeps of it (debugger.py), its `:`
commands (commands.py)."""
