"""`omegacli repl` on a terminal: the prompt_toolkit REPL (app.py). Imported only on that path."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def main(args: argparse.Namespace, sock: Path, socket_named: bool) -> int:
    from omegacli.repl.app import Repl, Target, default_history

    target = Target(socket=sock, socket_named=socket_named, session_dir=args.session_dir,
                    autostart=not args.no_autostart)
    repl = Repl(target, args.session or "current", history=default_history())
    try:
        return asyncio.run(repl.run())
    except KeyboardInterrupt:
        return 130
