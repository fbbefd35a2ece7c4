"""Which environment variables are a client's settings (`server.hello`'s `env`).

A client sends those of its own environment (and of its working directory's `.env`); a client
that sends no hello gets those of the daemon's own environment, as tmux's global environment.
"""

import os
from collections.abc import Mapping

PREFIXES = ("OMEGA_", "OPENAI_", "ANTHROPIC_")  # the oracle's choice, provider keys, base URLs


def settings_of(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The settings an environment gives: its OMEGA_*/provider variables, and HOME (where the
    reference keeps legacy batch sessions)."""
    found = {k: v for k, v in environ.items() if k.startswith(PREFIXES)}
    if "HOME" in environ:
        found["HOME"] = environ["HOME"]
    return found
