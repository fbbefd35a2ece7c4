"""`omegacli kernel install|list`: the omega kernelspec, written and found by jupyter_client."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

KERNEL_MODULE = "omegacli.kernel"


class JupyterMissing(Exception):
    """jupyter_client / ipykernel are not installed (the `omega[jupyter]` extra)."""


def _manager() -> Any:
    try:
        import ipykernel  # noqa: F401  (the kernel needs it; say so at install, not at first use)
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError as e:
        raise JupyterMissing(f"the Jupyter kernel needs the jupyter extra: "
                             f"pip install 'omega[jupyter]' ({e})") from None
    return KernelSpecManager()


def kernel_json(session: str | None) -> dict[str, Any]:
    argv = [sys.executable, "-m", KERNEL_MODULE, "-f", "{connection_file}"]
    if session:
        argv += ["--session", session]
    return {
        "argv": argv,
        "display_name": f"Omega ({session})" if session else "Omega",
        "language": "omega",
        "interrupt_mode": "message",
        "metadata": {"debugger": False, "omega": {"session": session}},
    }


def default_name(session: str | None) -> str:
    return f"omega-{session.lower()}" if session else "omega"


def install(name: str | None, session: str | None, *, user: bool = False,
            prefix: str | None = None) -> str:
    """Write the kernelspec (replacing one of that name); the directory it went to."""
    manager = _manager()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "kernel.json").write_text(json.dumps(kernel_json(session), indent=1) + "\n")
        return str(manager.install_kernel_spec(tmp, name or default_name(session), user=user,
                                               prefix=prefix))


def installed() -> list[tuple[str, str, str | None]]:
    """(name, directory, session) of every installed omega kernelspec."""
    rows = []
    for name, found in sorted(_manager().get_all_specs().items()):
        spec = found.get("spec", {})
        argv = spec.get("argv", [])
        if KERNEL_MODULE not in argv:
            continue
        session = argv[argv.index("--session") + 1] if "--session" in argv[:-1] else None
        rows.append((name, found.get("resource_dir", ""), session))
    return rows
