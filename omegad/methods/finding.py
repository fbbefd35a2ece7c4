"""Finding the session a request names: the client's session dir, and the session's actor."""

from __future__ import annotations

from omegad.server import Connection
from omegad.sessions import legacy
from omegad.sessions.actor import SessionActor
from omegad.sessions.names import check_name
from omegad.sessions.store import SessionStore
from protocol import errors


def store_of(conn: Connection) -> SessionStore:
    return SessionStore(conn.effective_session_dir())


async def actor_of(conn: Connection, name: str, create: bool = False) -> SessionActor:
    """The session's actor, once open. Only a request that writes may `create` the session:
    for any other a session that does not exist answers -32001 and nothing is created
    (opening an actor creates its journal)."""
    check_name(name)
    store = store_of(conn)
    fresh = conn.daemon.sessions.live(store, name) is None
    if fresh and not create and not store.journal(name).exists():
        raise errors.SessionNotFound(f"Session '{name}' not found")
    actor = conn.daemon.sessions.actor(store, name)
    if fresh and legacy.note_legacy(actor, conn.env):
        await actor.execute("", conn, piped=False)  # the import runs as the actor's next job
    await actor.ready()
    return actor
