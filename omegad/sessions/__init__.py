"""Sessions: the pool of session actors, the REPL command language, leases.

Words, each with one meaning across lang, persist, sessions, methods and tests:

    journal      `<name>.jsonl`: every event of a session, appended (persist/journal.py)
    checkpoint   a point of the journal a session can go back to (`goto`, `resume`): a
                 `checkpoint` event with its seq (persist/index.py's Checkpoint); the state there
                 is recorded in the checkpoint file `<name>.ckpt` (states/saver.py writes it)
    revision     an in-memory undo point of one live state (lang/revision.py): the session
                 captures one at each checkpoint (states/state.py: CheckpointState)
    timeline     a session's journal seen as its checkpoints (timeline.py's Timeline): what
                 `:session load / goto / resume / checkpoints` and the `timeline.*` methods show
    snapshot     a user's named reference to one checkpoint, with a description and tags
                 (`:session snapshot`, `snapshot.*`; notes/file.py's Snapshot)
    annotation   a user's label on one checkpoint (`:session annotate`; notes/file.py's Note)
    notes        `<name>.notes`: a session's snapshots and annotations
    debug run    one expression stepped on a copy of the state (debug/run.py); the debugger's
                 `:save NAME` keeps a saved step (debug/debugger.py's SavedStep), which the
                 reference's texts call a "snapshot" (`:snapshots`): only the texts say so
    state record one record of `<name>.ckpt`: a full state, a delta or a merge
    actor        the task that owns one session's state and runs its commands in order
    operation    a typed value an actor runs (operations.py: Input, Goto, DebugBreak …), made
                 by an RPC method or parsed from a command line alike
"""
