"""An API key never reaches a file the daemon writes: journals, indexes, receipts, checkpoints,
notes, exports, the log, its stderr, the runtime dir; nor any answer on the wire."""

import json
import os
from pathlib import Path

from tests.e2e.conftest import session_client
from tests.oracle.fakes import FakeProvider, error, openai_tool_call

SECRET = "sk-victim-SECRET-7c1d9e"


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            found += [Path(dirpath, f) for f in files]
    return found


def test_a_provider_session_writes_the_key_nowhere(start_daemon, omega_env, tmp_path):
    daemon = start_daemon()
    answers: list[str] = []
    with FakeProvider() as fake:
        fake.answer(
            openai_tool_call("eval", {"expr": "(define helper 41)"}, "c1"),
            openai_tool_call("return", {"value": "42"}, "c2"),
            error(401, f"Incorrect API key provided: {SECRET}", "invalid_request_error"),
        )
        env = {"OMEGA_ORACLE": "openai", "OPENAI_API_KEY": SECRET, "OMEGA_HTTP_RETRIES": "0",
               "OPENAI_BASE_URL": f"http://127.0.0.1:{fake.port}/v1"}
        with session_client(daemon, omega_env.session_dir, env) as c:
            def execute(command: str) -> None:
                r = c.call("session.execute", {"session": "p", "command": command})
                answers.append(json.dumps(r))

            execute('(define a (effect infer.op "what is 42?"))')
            execute('(effect infer.op "again")')  # the provider's 401 echoes the key
            execute(":session save copy")
            execute(":session fork branch")
            execute(":session annotate 1 asked #oracle")
            execute(f":session export-annotations {tmp_path / 'notes.json'}")
            execute("(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))")
            execute(":debug (fib 4)")
            execute(":step 4")
            execute(":save snap")
            execute(f":export snap {tmp_path / 'snap.json'}")
            execute(f":dump {tmp_path / 'dump.json'}")
            for method, params in (("server.status", {}), ("session.list", {}),
                                   ("session.flush", {"session": "p"}),
                                   ("timeline.list", {"session": "p"})):
                try:
                    answers.append(json.dumps(c.call(method, params)))
                except Exception as e:  # a method that refuses still must not echo the key
                    answers.append(str(e))
        assert fake.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"  # it was used
    assert "Incorrect API key provided: ***" in "".join(answers)
    assert daemon.stop() == 0
    written = files_under(omega_env.root, tmp_path)
    names = {p.name for p in written}
    assert {"p.jsonl", "p.index.json", "p.receipts", "copy.jsonl", "branch.jsonl",
            "omegad.log", "notes.json", "snap.json", "dump.json"} <= names, names
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), f"the key is in {path}"
    for text in answers:
        assert SECRET not in text
