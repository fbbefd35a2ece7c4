"""Bringing a session back: opening its actor from its files, and replaying its journal."""
