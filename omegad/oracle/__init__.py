"""Oracle adapters behind one async interface (see base.py)."""
