"""The states at a reference session's checkpoints: read from its index, re-evaluated only for a
checkpoint whose state the index cannot give (and then logged)."""

import logging

import pytest
import trio

from omegad.lang import api
from omegad.oracle.scripted import ScriptedOracle
from omegad.persist.index import IndexInfo, read_index_states, render_index
from omegad.sessions.states import reference as reference_states
from omegad.sessions.states.reference import ReferenceStates
from omegad.sessions.states.sources import state_at
from omegad.sessions.timeline import read_timeline
from tests.conftest import SHARED, require_shared

require_shared()
SESSIONS = SHARED / "fixtures" / "omega-ts-sessions" / "sessions"


def _states(name: str) -> ReferenceStates:
    timeline = read_timeline(SESSIONS, name)
    assert timeline is not None and timeline.states
    return ReferenceStates(timeline, ScriptedOracle().call)


def _eval(snap, text: str) -> str:
    r = api.start(snap.resume(), text).run(1_000_000)
    return r.printed


def test_states_are_read_without_reevaluating(caplog):
    states = _states("arith-errors")
    with caplog.at_level(logging.INFO, logger="omegad.sessions"):
        snap = trio.run(state_at, states, 38)
    assert caplog.records == []
    assert snap.control == "null" and _eval(snap, "x") == "=> 10"


def test_a_state_the_index_cannot_give_is_reevaluated_and_logged(caplog):
    states = _states("arith-errors")
    with pytest.raises(KeyError):  # state-22 holds Infinity, which JSON cannot
        states[22]
    with caplog.at_level(logging.INFO, logger="omegad.sessions"):
        snap = trio.run(state_at, states, 22)
    assert snap.control == "Infinity"
    messages = [r.getMessage() for r in caplog.records]
    assert any("state-22 not read from the index (a number written as None)" in m
               for m in messages)
    assert any("re-evaluating its inputs" in m for m in messages)
    assert states[38].control == "null"  # the others still come from the index


def test_states_beyond_those_kept_are_built_again():
    states = _states("medium")
    seqs = [cp.seq for cp in states.timeline.checkpoints]
    assert len(seqs) > 2 * reference_states.KEEP
    first = states[seqs[0]]
    for seq in seqs:
        states[seq]
    again = states[seqs[0]]
    assert again is not first and again.control == first.control


def test_an_index_with_states_is_written_back_byte_for_byte():
    path = SESSIONS / "closures.index.json"
    index = read_index_states(path)
    info = IndexInfo(index.sessionId, index.eventCount, index.checkpoints, index.receipts)
    assert render_index(info, index.states) == path.read_bytes()
