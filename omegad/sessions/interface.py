"""The actor's declared interface: what every other module of the package may use of a session's
actor (`Session`) and of the pool it lives in (`Pool`).

actor.py's SessionActor and manager.py's SessionManager are the implementations. The command
modules (commands, debug/, notes/, ask, legacy, fork, oracle_calls, recovery/) are written
against these Protocols instead of importing actor.py, so that the actor can import them: the
package's import graph has no cycle (tests/test_layers.py). Fields are read freely; the ones a
command sets are marked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    import msgspec

    from omegad.caller import Caller
    from omegad.lang import api
    from omegad.persist.checkpoints import CheckpointFile
    from omegad.persist.index import Checkpoint
    from omegad.persist.journal import JournalWriter
    from omegad.persist.worker import Persister
    from omegad.sessions.debug.debugger import Debugger
    from omegad.sessions.engine import Oracle
    from omegad.sessions.mailbox import Job, Reply
    from omegad.sessions.notes.file import NotesBook
    from omegad.sessions.notes.metrics import Monitor
    from omegad.sessions.states.saver import StateSaver
    from omegad.sessions.states.sources import LayeredStates, StateStore
    from omegad.sessions.states.state import CheckpointState
    from omegad.sessions.store import SessionStore
    from omegad.sessions.timeline import Timeline


class Session(Protocol):
    name: str
    store: SessionStore
    manager: Pool
    state: api.ReplState            # the live state (set by: reset, restore, opening)
    control: str                    # what the last checkpoint's state holds as its value
    state_defs: dict[str, str] | None
    journal: JournalWriter | None
    header: dict[str, Any] | None
    checkpoints: list[Checkpoint]   # the session's own, in journal order
    states: LayeredStates           # own checkpoint seq -> its state
    ckpt: CheckpointFile | None
    saver: StateSaver | None
    receipts: dict[str, Any]
    ref_states: dict[str, msgspec.Raw]
    index_dirty: bool
    loaded: Timeline | None         # `:session load`'s timeline (set by the commands)
    loaded_states: StateStore
    session_seq: int | None         # where goto / resume moved it in `loaded` (set likewise)
    attached: dict[int, Caller]
    followers: set[int]
    lease: Caller | None
    closed: bool
    legacy: Path | None             # a legacy batch file to import before the next job
    reevaluating: bool              # re-evaluating by itself: no provider is asked anew
    commit_answers: list[api.OracleResponse] | None  # what a committed debug run was told
    def_seqs: dict[str, int]        # name -> seq of the input that defined it (lookup.py)
    backtrace: tuple[list[Any], int]  # the last evaluated form's error frames (`:bt`)

    @property
    def seq(self) -> int: ...

    @property
    def busy(self) -> bool: ...

    def defs(self) -> list[str]: ...

    def defs_by_name(self) -> dict[str, str]: ...

    def debugger(self) -> Debugger: ...

    def own_timeline(self) -> Timeline: ...

    def restore(self, snap: CheckpointState, control: str | None = None,
                own_seq: int | None = None) -> None: ...

    def reset(self) -> None: ...

    def take_lease(self, conn: Caller, force: bool) -> None: ...

    def flush_index(self) -> None: ...

    def notice(self, text: str) -> None: ...

    def files(self) -> list[Any]: ...

    def write_events(self, events: list[dict[str, Any]]) -> list[int]: ...

    def save_state(self, seq: int, journal_end: int | None = None, adopted: bool = False,
                   merges: bool = True) -> None: ...

    async def evaluate_input(self, text: str, reply: Reply, job: Job) -> None: ...

    async def evaluate_form(self, form: api.Form, reply: Reply, job: Job) -> None: ...

    async def run_line(self, text: str, reply: Reply, job: Job) -> None: ...

    async def commit_debug(self, form: api.Form, answers: list[Any], job: Job) -> None: ...

    async def ready(self) -> None: ...

    async def records_written(self) -> None: ...


class Pool(Protocol):
    persister: Persister
    monitor: Monitor
    notes: NotesBook
    fallback_oracle: Oracle
    command_memory: int  # a command's memory budget (omegad --command-memory)
    max_memory: int  # what the sessions may hold (omegad --max-memory)

    def oracle_for(self, conn: Caller | None) -> Any: ...

    def live(self, store: SessionStore, name: str) -> Session | None: ...

    async def get(self, store: SessionStore, name: str) -> Session: ...

    def list_sessions(self, store: SessionStore) -> list[tuple[str, tuple[int, int] | None]]: ...

    def forget(self, store: SessionStore, name: str) -> None: ...

    def storage_notice(self, text: str) -> None: ...

    def release(self, store: SessionStore, name: str, asker: Session) -> None: ...

    async def states_of(self, actor: Session, timeline: Timeline) -> StateStore: ...

    async def fork(self, actor: Session, source: str, name: str,
                   cutoff: int | None) -> Session | None: ...

    async def delete(self, store: SessionStore, name: str,
                     asker: Caller | None = None) -> bool: ...

    def dropped(self, actor: Session) -> None: ...

    def session_closed(self, actor: Session) -> None: ...
