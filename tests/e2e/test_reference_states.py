"""The states of the reference's sessions come from its index, not from re-evaluating the journal.

The proof: a copy of the `closures` fixture whose journal says `(let ((n 5)) …)` where the
reference evaluated `(let ((n 0)) …)` (same length, so every byte offset still holds).
Re-evaluating that journal would start the counters at 5; the states in the index have them
where the reference left them. Without a state in the index, omega re-evaluates (and the
altered journal shows).
"""

import io
import json
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from omegacli.sessions import run_inputs
from tests.conftest import SHARED, require_shared
from tests.e2e.conftest import session_client

require_shared()
FIXTURES = SHARED / "fixtures" / "omega-ts-sessions"
ENV = {"OMEGA_SCRIPTED_ORACLE": "1"}


@pytest.fixture
def session_dir(tmp_path) -> Path:
    """The fixture sessions, with `closures`' journal altered as described above."""
    root = tmp_path / ".omega-session"
    shutil.copytree(FIXTURES / "sessions", root / "sessions")
    (root / "sessions").chmod(0o755)
    for path in (root / "sessions").iterdir():
        path.chmod(0o644)
    journal = root / "sessions" / "closures.jsonl"
    text = journal.read_text()
    assert text.count("(let ((n 0))") == 2  # the input and its step
    journal.write_text(text.replace("(let ((n 0))", "(let ((n 5))"))
    return root


def _run(daemon, session_dir: Path, inputs: list[str], session: str = "current") -> list[str]:
    out = io.StringIO()
    with session_client(daemon, session_dir, ENV) as client, redirect_stdout(out):
        run_inputs(client, session, inputs, timeout=30)
    return out.getvalue().split("\n")[:-1]


def _index(session_dir: Path, name: str) -> dict:
    return json.loads((session_dir / "sessions" / f"{name}.index.json").read_text())


def test_load_goto_and_resume_read_the_states_of_the_index(shared_daemon, session_dir):
    out = _run(shared_daemon, session_dir, [
        ":session load closures", "(c1)",             # the newest state: c1 was called 3 times
        ":session goto 15", "(c1)", "(c1)",           # c1 called twice
        ":session resume", "(c1)",                    # seq 19: still twice
    ])
    assert [line for line in out if line.startswith("=>")] == ["=> 4", "=> 3", "=> 4", "=> 3"]


def test_without_a_state_in_the_index_the_journal_is_reevaluated(shared_daemon, session_dir):
    index = session_dir / "sessions" / "closures.index.json"
    doc = json.loads(index.read_text())
    del doc["states"]["state-15"]
    index.write_text(json.dumps(doc, indent=2))
    out = _run(shared_daemon, session_dir, [
        ":session load closures", ":session goto 15", "(c1)", ":session goto 19", "(c1)",
    ])
    # state-15 comes from the altered journal (counters from 5), state-19 from the index
    assert [line for line in out if line.startswith("=>")] == ["=> 8", "=> 3"]


def test_a_reference_session_opens_from_its_newest_state(shared_daemon, session_dir):
    out = _run(shared_daemon, session_dir, ["(c1)", "(c2)", "total"], session="closures")
    assert out == ["=> 4", "=> 2", "=> 100"]


def test_a_fork_keeps_the_reference_states_and_opens_from_them(shared_daemon, session_dir):
    out = _run(shared_daemon, session_dir, [
        ":session load closures", ":session goto 23", ":session fork cf", "(c1)",
    ])
    assert out[-2:] == ["Session forked as 'cf'", "=> 3"]
    index = _index(session_dir, "cf")
    kept = [cp["stateId"] for cp in index["checkpoints"]]
    assert kept == [f"state-{s}" for s in (3, 7, 11, 15, 19, 23)]
    original = _index(session_dir, "closures")["states"]
    assert index["states"] == {k: original[k] for k in kept}
    out = _run(shared_daemon, session_dir, [":session load cf", ":session goto 15", "(c1)"])
    assert out[-1] == "=> 3"


def test_rewriting_a_reference_index_keeps_its_states(shared_daemon, session_dir):
    before = _index(session_dir, "tiny")
    with session_client(shared_daemon, session_dir, ENV) as client:
        with redirect_stdout(io.StringIO()):
            run_inputs(client, "tiny", ["(define z 1)"], timeout=30)
        client.call("server.flush")
    after = _index(session_dir, "tiny")
    assert after["eventCount"] > before["eventCount"]
    assert after["states"] == before["states"]
    out = _run(shared_daemon, session_dir, [":session load tiny", ":session goto 7", "(+ a b)"])
    assert out[-1] == "=> 3"


def test_after_a_restart_a_used_reference_session_still_reads_its_states(
        start_inprocess_daemon, tmp_path):
    """Omega's checkpoint file holds the states of our commands; the reference's checkpoints
    before them still come from its index (here through the altered journal of `closures`)."""
    dir_ = tmp_path / ".omega-session"
    shutil.copytree(FIXTURES / "sessions", dir_ / "sessions")
    (dir_ / "sessions").chmod(0o755)
    journal = dir_ / "sessions" / "closures.jsonl"
    journal.chmod(0o644)
    journal.write_text(journal.read_text().replace("(let ((n 0))", "(let ((n 5))"))
    d = start_inprocess_daemon()
    assert _run(d, dir_, ["(c1)"], session="closures") == ["=> 4"]
    d.stop()
    d = start_inprocess_daemon()
    out = _run(d, dir_, ["(c1)", ":session load closures", ":session goto 15", "(c1)"],
               session="closures")
    assert out[0] == "=> 5" and out[-1] == "=> 3"
