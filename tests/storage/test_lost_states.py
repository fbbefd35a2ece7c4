"""States a checkpoint file no longer holds (deleted, or cut and then written on) still come back
for `goto`, from the journal's inputs, after any number of restarts: in the session itself and
in another session that loads it."""

from __future__ import annotations

from tests.storage.inprocess import running


async def test_goto_a_checkpoint_whose_record_is_gone_re_evaluates_the_journal(root):
    async with running(root) as d:
        for i in range(5):
            await d.execute("s", f"(define v{i} {i * 2})")
        seqs = [c["seq"] for c in (await d.call("session.checkpoints",
                                                {"session": "s"}))["checkpoints"]]
    second, last = seqs[1], seqs[-1]
    (root / "sd" / "sessions" / "s.ckpt").unlink()
    async with running(root) as d:
        assert (await d.execute("s", ":session load s")).startswith("Loaded session 's'")
        assert (await d.execute("s", f":session goto {second}")).startswith(  # (just rebuilt)
            f"Jumped to seq {second}")
        assert (await d.execute("s", "v2")).startswith("error: unbound")
        assert (await d.execute("s", f":session goto {last}")).startswith(f"Jumped to seq {last}")
        assert await d.execute("s", "v4") == "=> 8"
        assert await d.execute("s", "(define w 9)") == "=> w"  # (the file starts again here)
    async with running(root) as d:
        assert (await d.execute("s", ":session load s")).startswith("Loaded session 's'")
        assert (await d.execute("s", f":session goto {second}")).startswith(
            f"Jumped to seq {second}")
        assert await d.execute("s", "(list v0 v1)") == "=> (0 2)"
        assert (await d.execute("s", "v2")).startswith("error: unbound")
        assert (await d.execute("a", ":session load s")).startswith("Loaded session 's'")
        assert (await d.execute("a", f":session goto {second}")).startswith(
            f"Jumped to seq {second}")
        assert await d.execute("a", "(list v0 v1)") == "=> (0 2)"
        assert await d.call("server.ping") == {"pong": True}
