"""omegad/collector.py: the daemon's own objects are out of full collections from the start."""

import gc

import trio
import trio.testing

from omegad import collector


def test_what_the_daemon_made_before_serving_is_frozen_as_the_collector_starts():
    """Before, only the warm-up froze them, and it is skipped once a session opened before the
    first idle moment (a client that starts the daemon and uses it at once): every full
    collection after a big form (memory.trim) then walked ~30 000 objects."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collector.run, lambda: False)
            await trio.testing.wait_all_tasks_blocked()
            assert gc.get_freeze_count() > 1000
            nursery.cancel_scope.cancel()

    trio.run(main)
