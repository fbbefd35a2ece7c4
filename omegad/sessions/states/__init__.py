"""A session's states at its checkpoints: who writes them, who reads them, who rebuilds them.

    writes    states/saver.py       a full state, then deltas and merges, into `<name>.ckpt`
                                    (the file's records: persist/checkpoints.py; their bytes:
                                    lang/serialize.py)
    reads     states/sources.py     `<name>.ckpt`'s records back into states (FileStates), in
                                    steps for big ones; LayeredStates answers "the state at seq"
                                    from the states at hand, then the file, then the reference's
    reads     states/reference.py   the reference's states, kept in its `<name>.index.json`
                                    (built into omega states by lang/reference_state.py)
    rebuilds  recovery/replay.py    states no file holds, by re-evaluating the journal's inputs
    captures  engine.py             the live state at a checkpoint, in memory (a Revision:
                                    lang/revision.py)
"""
