"""What a user keeps about a session beside its journal: snapshots and annotations (file.py),
metrics (metrics.py), and their `:session` commands (commands.py)."""
