"""The reference REPL's ways in, over the daemon: piped `repl`, `-s NAME`, `-c CMD`, `-f FILE`.

Every line printed here comes from the daemon (`session.execute` output), except the ones about
the client itself. Standard library only: this is a one-shot path.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from omegacli.client import Client, call_interruptible
from omegacli.inputs import Source, parse_error_offset, piped_inputs, with_paths
from protocol import errors


def run_inputs(client: Client, session: str, inputs: Iterable[str], timeout: float | None,
               piped: bool = True) -> tuple[str, int]:
    """Send each input; print its output as the reference does. Returns (session, exit status)."""
    for text in inputs:
        try:
            result = call_interruptible(
                client, "session.execute",
                {"session": session, "command": with_paths(text), "piped": piped}, timeout,
            )
        except errors.RpcError as e:
            print(f"error: {e.message}", flush=True)
            if getattr(e, "interrupted_by_user", False):
                return session, 130
            continue
        if result["output"]:
            print(result["output"], flush=True)
        session = result["session"]
        if result["should_exit"]:
            break
    return session, 0


def cmd_repl(client: Client, args: argparse.Namespace) -> int:
    """Piped `repl`: stdin cut into inputs as the reference does (a terminal gets omegacli.repl)."""
    session = args.session or "current"
    stdin = sys.stdin
    assert isinstance(stdin, io.TextIOWrapper)  # a real stdin, which can be reconfigured
    stdin.reconfigure(encoding="utf-8", errors="replace")
    return run_inputs(client, session, piped_inputs(stdin), args.timeout)[1]


def read_source(file: str) -> Source | None:
    """`-f FILE` read and cut into forms; None (said on stderr) when it cannot be read."""
    path = Path(file).resolve()
    try:
        return Source(file, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        reason = "File not found" if isinstance(e, FileNotFoundError) else "Cannot read file"
        print(f"{reason}: {path}", file=sys.stderr)
        return None


def cmd_batch(client: Client, args: argparse.Namespace, source: Source | None) -> int:
    """`-c CMD` / `-f FILE`, in session NAME (`-s`) or in a scratch session thrown away after.

    Prints what the reference prints (every input's output; `-j`: one JSON object, with `ok`,
    `value` and `error` added); each failed input of a file is named `FILE:LINE:COLUMN` on
    stderr. Exit status 1 when any input ended in an error, as `omegacli call` would say."""
    session = args.session or f"scratch-{os.getpid()}-{os.urandom(3).hex()}"
    if source is None:
        inputs, meta = [args.cmd.strip()], {"command": args.cmd}
    else:
        inputs, meta = source.forms, {"file": args.file}
    try:
        run = _execute_all(client, session, inputs, args.timeout, source,
                           echo=not args.json)
    finally:
        if args.session is None:
            _discard(client, session)
    if args.json:
        info = client.call("session.open", {"session": session}) if args.session else None
        debug = bool(info and info.get("debug_mode"))
        doc = {"session": args.session, **meta, "debugMode": debug,
               "stepCount": info.get("step_count", 0) if info else 0,
               "defsCount": info["definitions"] if info else 0, "output": "\n".join(run.outputs),
               "ok": run.error is None, "value": run.value, "error": run.error}
        if args.session is None:
            del doc["session"]
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0 if run.error is None else 1


class BatchRun:
    """What a batch's inputs printed, the last one's value and the first error's message."""

    def __init__(self) -> None:
        self.outputs: list[str] = []
        self.value: str | None = None
        self.error: str | None = None


def _execute_all(client: Client, session: str, inputs: list[str], timeout: float | None,
                 source: Source | None, echo: bool) -> BatchRun:
    run = BatchRun()
    for index, text in enumerate(inputs):
        result = call_interruptible(client, "session.execute",
                                    {"session": session, "command": with_paths(text)}, timeout)
        if result["output"]:
            run.outputs.append(result["output"])
            if echo:
                print(result["output"], flush=True)
        run.value = result["value"]
        if result.get("failed", 0 if result["ok"] else 1):
            message = result["error"] or result["output"].rsplit("\n", 1)[-1]
            run.error = run.error or message
            if source is not None:
                offset = parse_error_offset(text, message) if message.startswith("parse:") else 0
                print(f"{source.where(index, offset)}: error: {message}", file=sys.stderr,
                      flush=True)
        session = result["session"]
        if result["should_exit"]:
            break
    return run


def _discard(client: Client, session: str) -> None:
    try:
        client.call("session.delete", {"session": session})
    except errors.RpcError:
        pass


def cmd_show(client: Client, args: argparse.Namespace) -> int:
    """`-s NAME` alone: the reference's summary of the session."""
    info = client.call("session.open", {"session": args.session, "create": True})  # as -s
    print(f"Session '{args.session}' loaded.")
    print(f"  Definitions: {info['definitions']}")
    debug = bool(info.get("debug_mode"))
    print(f"  Debug mode: {'true' if debug else 'false'}")
    if debug:
        print(f"  Step count: {info.get('step_count', 0)}")
        print(f"  Trace length: {info.get('trace_length', 0)}")
    print(f"  Breakpoints: {info.get('breakpoints', 0)}")
    return 0
