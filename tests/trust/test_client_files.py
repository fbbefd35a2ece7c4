"""Files `:` commands write for a raw client: relative paths resolve against the client's `cwd`
(from server.hello), are refused without one, and never land in another session dir."""

import json
import os
from pathlib import Path

from tests.trust.other_user import Witness, as_other, needs_root, victim_file

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"


async def out(w, command: str, session: str = "s") -> str:
    return (await w.result("session.execute", {"session": session, "command": command}))["output"]


async def debugged(w) -> None:
    await out(w, FIB)
    await out(w, ":debug (fib 3)")
    await out(w, ":step 4")
    await out(w, ":save four")


async def test_relative_paths_resolve_against_the_clients_cwd(inproc):
    cwd = inproc.root / "work"
    cwd.mkdir()
    async with inproc.wire() as w:
        await w.result("server.hello", {"client": "t", "session_dir": str(inproc.root / "sd"),
                                        "cwd": str(cwd)})
        await debugged(w)
        assert await out(w, ":dump t.json") == (
            f"Dumped trace summary to {cwd / 't.json'} "
            f"({json.loads((cwd / 't.json').read_text())['totalSteps']} steps)\n"
            "To replay: load the code and step through, or use ':replay <file>'")
        assert await out(w, ":export four ./s.json") == \
            f"Exported snapshot metadata to {cwd / 's.json'}"
        assert json.loads((cwd / "s.json").read_text())["name"] == "four"
        assert (await out(w, ":session export-annotations notes.json")).endswith(
            f"to {cwd / 'notes.json'}")
        assert json.loads((cwd / "notes.json").read_text())["annotations"] == []
        assert (await out(w, ":replay t.json")).startswith(f"Loading dump from: {cwd / 't.json'}")
        assert (await out(w, ":session import-annotations notes.json")).startswith("Imported 0")
        (cwd / "lib.omega").write_text("(define from-lib 5)")
        loaded = await out(w, ":loadfile lib.omega")
        assert loaded == f"Loaded from: {cwd / 'lib.omega'}\n=> from-lib"


async def test_relative_paths_are_refused_without_a_cwd(inproc):
    daemon_cwd = Path(os.getcwd())
    up = f"x-{os.getpid()}"  # (two levels up from a clone may be /tmp: a name no one else uses)
    written = [daemon_cwd / "t.json", daemon_cwd / "s.json", daemon_cwd.parent.parent / up]
    assert not any(p.exists() for p in written)
    async with inproc.wire() as w:
        await w.result("server.hello", {"client": "t", "session_dir": str(inproc.root / "sd")})
        await debugged(w)
        why = "is a relative path and the client sent no working directory in server.hello"
        said = await out(w, ":dump t.json")
        assert said == f"Error dumping: t.json {why} (give an absolute path)"
        assert (await out(w, ":export four s.json")).startswith(f"Error exporting: s.json {why}")
        assert (await out(w, f":session export-annotations ../../{up}")).startswith(
            f"Error exporting annotations: ../../{up} {why}")
        assert (await out(w, ":replay t.json")).startswith(f"Error loading dump: t.json {why}")
        assert (await out(w, ":loadfile lib.omega")).startswith(f"error: lib.omega {why}")
        assert (await w.result("server.ping")) == {"pong": True}
    assert not any(p.exists() for p in written)
    assert not (inproc.root / up).exists() and not (inproc.root / "sd" / up).exists()


async def test_no_writing_into_another_session_dir_or_over_our_own_files(inproc):
    theirs, mine = inproc.root / "theirs", inproc.root / "mine"
    async with inproc.wire() as other, inproc.wire() as w:
        await other.result("server.hello", {"client": "o", "session_dir": str(theirs)})
        await out(other, "(define y 2)", "t")
        await w.result("server.hello", {"client": "t", "session_dir": str(mine),
                                        "cwd": str(mine / "sessions")})
        await out(w, "(define x 1)")
        journal = theirs / "sessions" / "t.jsonl"
        seen = Witness([journal, mine / "sessions" / "s.jsonl", mine / ".omegad.lock"])
        for target in ("../../theirs/sessions/t.jsonl", str(theirs / "notes.json")):
            said = await out(w, f":session export-annotations {target}")
            assert said.startswith("Error exporting annotations: ") and \
                f"is inside the session dir {theirs}, which is not this client's" in said
        for target in ("s.jsonl", "../.omegad.lock"):
            said = await out(w, f":session export-annotations {target}")
            assert said.endswith("would overwrite the session dir's own files"), said
        seen.assert_untouched()
        assert not (theirs / "notes.json").exists()
        assert (await out(w, f":session export-annotations {mine / 'notes.json'}")).startswith(
            "Exported 0")


@needs_root
async def test_a_planted_symlink_at_an_export_target_is_refused(inproc, shared):
    precious = victim_file(inproc.root, "precious")
    as_other(lambda: os.symlink(precious, shared / "t.json"))
    as_other(lambda: (shared / "theirs.json").write_text("{}"))
    as_other(lambda: os.mkfifo(shared / "pipe.json", 0o666))  # would block a plain open
    seen = Witness([precious, shared / "theirs.json"])
    async with inproc.wire() as w:
        await w.result("server.hello", {"client": "t", "session_dir": str(inproc.root / "sd"),
                                        "cwd": str(shared)})
        await debugged(w)
        assert await out(w, ":dump t.json") == \
            f"Error dumping: {shared / 't.json'} is a symlink; refusing to use it"
        assert await out(w, ":dump pipe.json") == \
            f"Error dumping: {shared / 'pipe.json'} is not a regular file; refusing to use it"
        said = await out(w, ":export four theirs.json")
        assert said == (f"Error exporting: {shared / 'theirs.json'} belongs to uid 65534, "
                        "not to us (uid 0); refusing to use it")
    seen.assert_untouched()


async def test_a_relative_rules_file_is_the_clients_not_the_daemons(inproc):
    cwd = inproc.root / "work"
    cwd.mkdir()
    (cwd / "rules.json").write_text('[{"when": "weather", "answer": "sunny"}]')
    env = {"OMEGA_ORACLE": "rules:rules.json"}
    ask = '(effect infer.op "the weather?")'
    async with inproc.wire() as w:
        await w.result("server.hello", {"client": "t", "session_dir": str(inproc.root / "sd"),
                                        "cwd": str(cwd), "env": env})
        assert await out(w, ask) == '=> "sunny"'
    async with inproc.wire() as w:
        hello = await w.result("server.hello", {"client": "t", "env": env,
                                                "session_dir": str(inproc.root / "sd")})
        why = "rules file rules.json: a relative path needs the client's working directory"
        assert why in hello["oracle"]
        assert why in await out(w, ask)
