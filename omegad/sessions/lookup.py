"""`:doc NAME`, `session.lookup` and `:env`: what the session's names are bound to.

The language says what a name is (omegad/lang/docs.py); this adds what only the session knows
about a user's definition: its source and where it was made (session, seq).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from omegad.lang import docs
from omegad.lang.printer import write_str
from omegad.persist.journal import read_journal
from protocol import methods as m

if TYPE_CHECKING:
    from omegad.lang.api import ReplState
    from omegad.sessions.interface import Session


def lookup(actor: Session, name: str, state: ReplState | None = None) -> m.LookupResult:
    d = docs.describe(state or actor.state, name)
    source = defined = None
    if not d.builtin and d.kind not in ("unbound", "special form"):
        source = actor.defs_by_name().get(name)
        seq = _defined_at(actor, name, source) if source is not None else None
        defined = m.Definition(session=actor.name, seq=seq) if seq is not None else None
    text = "\n".join(docs.render(d, (defined.session, defined.seq) if defined else None, source))
    return m.LookupResult(name=name, kind=d.kind, arity=d.arity, doc=d.doc, params=d.params,
                          defined=defined, source=source, text=text, usage=d.usage)


def _defined_at(actor: Session, name: str, source: str) -> int | None:
    """The seq of the `input` event of the definition in effect (known since the session
    opened, else found in its journal)."""
    seq = actor.def_seqs.get(name)
    if seq is not None:
        return seq
    path = actor.store.journal(actor.name)
    if not path.exists():
        return None
    code = None
    for event in reversed(read_journal(path).events):
        if event["type"] == "result":
            code = "result"
        elif event["type"] == "input":
            if code == "result" and event.get("code") == source:
                actor.def_seqs[name] = event["seq"]
                return event["seq"]
            code = None
    return None


def env_lines(state: ReplState, name: str) -> list[str]:
    """`:env`: every binding of the global environment, the user's with their values, then the
    built-in names; `:env NAME` one binding."""
    if name:
        if name not in state.globals:
            return [f"(binding '{name}' not found)"]
        return [f"{name} = {_cut(write_str(state.globals[name]), 2000)}"]
    users = state.user_names()
    builtins = sorted(n for n in state.globals if n not in set(users))
    lines = [f"User bindings ({len(users)}):" if users else "User bindings: none yet"]
    lines += [f"  {n} = {_cut(write_str(state.globals[n]), 60)}" for n in users]
    lines.append(f"Built in ({len(builtins)}; :doc NAME describes one):")
    lines += textwrap.wrap(" ".join(builtins), 96, initial_indent="  ", subsequent_indent="  ",
                           break_long_words=False, break_on_hyphens=False)
    lines.append(f"({len(state.globals)} total bindings)")
    return lines


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
