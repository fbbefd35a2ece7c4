"""Random lines over the socket: every answer is well-formed JSON-RPC, the daemon lives on."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RawConn

# Numbers stay small where they could become a ping's `delay` (seconds the daemon would wait).
small = st.integers(max_value=0) | st.floats(max_value=0.001, allow_nan=False)
json_values = st.recursive(
    st.none() | st.booleans() | small | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "method": st.sampled_from(["server.ping", "server.status", "rpc.discover", "nope", 7]),
        "params": json_values,
        "id": st.one_of(st.integers(), st.text(max_size=4), st.none(), st.floats(allow_nan=False)),
    },
)
lines = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers().map(lambda v: str(v).encode()),
    request_like.map(lambda v: json.dumps(v).encode()),
    st.lists(request_like, max_size=4).map(lambda v: json.dumps(v).encode()),
)


def well_formed(message) -> bool:
    items = message if isinstance(message, list) else [message]
    return bool(items) and all(
        m.get("jsonrpc") == "2.0" and "id" in m and (("result" in m) != ("error" in m))
        for m in items
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(lines, min_size=1, max_size=6))
def test_random_lines_get_well_formed_answers_and_leave_the_daemon_healthy(inprocess_daemon, batch):
    with RawConn(inprocess_daemon.socket) as c:
        c.send_raw(b"\n".join(batch) + b"\n")
        c.send({"jsonrpc": "2.0", "method": "server.ping", "id": "fuzz-end"})
        while True:
            message = c.recv()
            assert well_formed(message), message
            if isinstance(message, dict) and message["id"] == "fuzz-end":
                assert message["result"] == {"pong": True}
                break
