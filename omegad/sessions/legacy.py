"""The reference's legacy batch files (`~/.omega-sessions/repl-NAME.json`): imported on the first
use of NAME by a client whose HOME holds one, when the session has no journal yet (C5/C6).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from omegad.lang import api
from omegad.sessions.debug.debugger import Breakpoint
from omegad.sessions.debug.run import DebugRun
from omegad.sessions.mailbox import Job, Reply

if TYPE_CHECKING:
    from omegad.sessions.interface import Session

log = logging.getLogger("omegad.sessions")


def _needs_oracle(probe: api.ReplState, form: api.Form) -> bool:
    """Evaluate `form` in the probe state; True when it would need the oracle."""
    run = api.start(probe, form)
    while True:
        r = run.run(100_000)
        if isinstance(r, api.NeedsOracle):
            run.abandon()
            return True
        if not isinstance(r, api.Running):
            return False


def note_legacy(actor: Session, env: dict[str, str]) -> bool:
    """On the first use of NAME by a client whose HOME holds `.omega-sessions/repl-NAME.json`
    and when the session has no journal yet: import that file before the next job (C5/C6)."""
    home = env.get("HOME")
    if not home or actor.store.journal(actor.name).exists():
        return False
    path = Path(home) / ".omega-sessions" / f"repl-{actor.name}.json"
    if not path.is_file():
        return False
    actor.legacy = path
    return True


async def import_legacy(actor: Session, job: Job) -> None:
    """Re-evaluate the file's defines, then bring the debugger back to its saved step."""
    path, actor.legacy = actor.legacy, None
    if path is None:
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        defs = [d for d in data.get("defs", []) if isinstance(d, str)]
    except (OSError, ValueError, AttributeError):
        return
    actor.reevaluating = True  # no provider is asked anew (oracle_calls.py)
    try:
        probe = api.deserialize(api.serialize(actor.state))
        for code in defs:
            for form in api.parse_inputs(code):
                if form.error is not None:
                    continue
                if _needs_oracle(probe, form):   # no receipts here: never call a provider
                    log.warning("session %s: legacy define skipped (it calls the oracle): %s",
                                actor.name, form.text)
                    continue
                await actor.evaluate_form(form, Reply(), job)
    finally:
        actor.reevaluating = False
    dbg = actor.debugger()
    dbg.recording = bool(data.get("recordingEnabled", True))
    dbg.next_id = int(data.get("nextBreakpointId", 1))
    for b in data.get("breakpoints", []):
        try:
            dbg.breakpoints.append(Breakpoint(int(b["id"]), str(b["type"]), b["condition"],
                                              bool(b.get("enabled", True))))
        except (KeyError, TypeError, ValueError):
            continue
    code = data.get("debugCode")
    if data.get("debugMode") and isinstance(code, str):
        forms = api.parse_inputs(code)
        if len(forms) == 1 and forms[0].error is None:
            run = DebugRun(code, api.serialize(actor.state))
            run.muted = True
            run.advance(max(0, int(data.get("stepCount", 0))))
            if not run.active:          # omega's steps are coarser (C7): stay before the end
                run.goto(max(0, (run.end_step or 1) - 1))
            run.muted = False
            run.trace_end = run.step
            dbg.run, dbg.mode = run, True
    dbg.save()
