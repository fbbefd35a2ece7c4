"""A notebook and other clients on one live session: each sees the other's definitions at once,
the kernel shows other clients' inputs and outputs on IOPub, a write lease refuses its cells with
the holder's name, and a daemon restart costs one lost reply, never a cell run twice."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

from omegacli.autostart import hello_params
from omegacli.client import Client
from omegacli.kernel.kernel import INTERRUPTED
from protocol import errors
from tests.conftest import pid_gone, wait_until
from tests.kernel.conftest import KERNEL, JupyterEnv, install_kernel, jupyter_env

SESSION = "shared"
TIMEOUT = 30


@pytest.fixture(scope="module")
def shared_spec(jupyter: JupyterEnv) -> str:
    """The kernelspec whose notebooks all work in SESSION, installed once per module (per worker:
    the tests that start their own kernel from it may run on either)."""
    install_kernel(jupyter.prefix, "--session", SESSION)
    return f"{KERNEL}-{SESSION}"


@pytest.fixture(scope="module")
def kernel(shared_spec: str) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    km, kc = start_new_kernel(kernel_name=shared_spec)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc: BlockingKernelClient, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Execute; the reply's content and the cell's own IOPub messages (not status/input)."""
    outputs: list[dict[str, Any]] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] not in ("status", "execute_input"):
            outputs.append(msg)

    reply = kc.execute_interactive(code, output_hook=hook, timeout=TIMEOUT)
    return reply["content"], outputs


def value(outputs: list[dict[str, Any]]) -> str:
    (result,) = [m for m in outputs if m["msg_type"] == "execute_result"]
    return result["content"]["data"]["text/plain"]


def other_client(env: JupyterEnv, name: str = "tests-other") -> Client:
    client = Client.connect(str(env.omega.socket), timeout=TIMEOUT)
    client.call("server.hello", {**hello_params(name), "session_dir": str(env.omega.session_dir)})
    return client


def test_a_cell_definition_is_seen_by_omegacli_at_once(jupyter, kernel):
    _, kc = kernel
    reply, _ = run(kc, "(define x (* 6 7))")
    assert reply["status"] == "ok"
    done = jupyter.omegacli("-s", SESSION, "-c", "x")
    assert (done.returncode, done.stdout) == (0, "=> 42\n"), done.stderr


def test_a_repl_definition_is_seen_by_the_next_cell_and_shown_on_iopub(jupyter, kernel):
    _, kc = kernel
    while kc.iopub_channel.msg_ready():
        kc.get_iopub_msg(timeout=1)
    done = jupyter.omegacli("repl", "-s", SESSION, stdin="(define w (+ 3 4))\n")
    assert done.returncode == 0 and "=> w" in done.stdout, done.stderr
    seen: list[dict[str, Any]] = []
    while not any(m["msg_type"] == "stream" and m["content"]["text"] == "=> w\n" for m in seen):
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["msg_type"] in ("execute_input", "stream"):
            seen.append(msg)
    first = seen[0]
    assert first["msg_type"] == "execute_input"
    assert first["content"]["code"] == "(define w (+ 3 4))"
    # Under the REPL's own parent: not a request of this notebook's (jupyter console shows it
    # as `Remote In [n]:`, JupyterLab leaves it out of the notebook's cells).
    parent = first["parent_header"]
    assert parent["session"].startswith("omegacli") and parent["session"] != kc.session.session
    assert all(m["parent_header"] == parent for m in seen)
    reply, outputs = run(kc, "w")
    assert value(outputs) == "7"


def test_a_runaway_cell_interrupted_leaves_the_session_as_it_was(jupyter, kernel):
    km, kc = kernel
    run(kc, "(define balance 100) (define (spin) (spin))")
    msg_id = kc.execute("(begin (set! balance 0) (spin))")
    wait_until(lambda: "(set! balance 0)" in jupyter.omegacli(
        "call", "session.trace", f'{{"session": "{SESSION}", "from_seq": 0}}').stdout,
        what="the runaway cell to start")
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["evalue"] == "interrupted; the session is as it was before this command"
    done = jupyter.omegacli("-s", SESSION, "-c", "balance")
    assert done.stdout == "=> 100\n"
    _, outputs = run(kc, "balance")
    assert value(outputs) == "100"


def test_a_cell_waits_its_turn_behind_another_clients_command_and_says_whose(jupyter, kernel):
    _, kc = kernel
    run(kc, "(define (spin) (spin))")
    with other_client(jupyter, "tests-spinner") as other:
        rid = other.start("session.execute", {"session": SESSION, "command": "(spin)"})
        # Running before the cell is sent: a loaded daemon may read the kernel's request first.
        wait_until(lambda: other.call("session.open", {"session": SESSION}).get("running"),
                   what="the other client's command to run")
        msg_id = kc.execute("(* 6 7)")
        notes: list[str] = []
        while not any("waiting for tests-spinner's command `(spin)`" in n for n in notes):
            msg = kc.get_iopub_msg(timeout=TIMEOUT)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                notes.append(msg["content"]["text"])
        assert not kc.shell_channel.msg_ready()  # still waiting: (spin) runs
        assert other.call("session.interrupt", {"session": SESSION})["interrupted"]
        with pytest.raises(errors.RpcError):
            other.wait(rid)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "ok"


def test_interrupting_a_waiting_cell_withdraws_it_and_leaves_the_other_command_running(
        jupyter, kernel):
    km, kc = kernel
    run(kc, "(define (spin) (spin))")
    with other_client(jupyter, "tests-spinner") as other:
        rid = other.start("session.execute", {"session": SESSION, "command": "(spin)"})
        wait_until(lambda: other.call("session.open", {"session": SESSION}).get("running"),
                   what="the other client's command to run")
        msg_id = kc.execute("(define withdrawn 1)")
        wait_until(lambda: any(c["client"].startswith("omega-kernel") and c["in_flight"]
                               for c in other.call("server.status")["connections"]),
                   what="the cell to be queued")
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["evalue"] == INTERRUPTED
        running = other.call("session.open", {"session": SESSION})["running"]
        assert running["client"] == "tests-spinner" and running["first_line"] == "(spin)"
        assert other.call("session.interrupt", {"session": SESSION})["interrupted"]
        with pytest.raises(errors.RpcError):
            other.wait(rid)
    done = jupyter.omegacli("-s", SESSION, "-c", "withdrawn")
    assert "unbound" in done.stdout


def test_a_write_lease_refuses_cells_with_the_holders_name(jupyter, kernel):
    _, kc = kernel
    holder = other_client(jupyter, "tests-holder")
    try:
        holder.call("session.open", {"session": SESSION, "mode": "write"})
        reply, outputs = run(kc, "(define refused 1)")
        assert reply["status"] == "error"
        assert "session locked by tests-holder" in reply["evalue"]
        assert [m["msg_type"] for m in outputs] == ["error"]
    finally:
        holder.close()
    wait_until(lambda: run(kc, "(define accepted 1)")[0]["status"] == "ok",
               what="the lease to go with its connection")
    done = jupyter.omegacli("-s", SESSION, "-c", "refused")
    assert "unbound" in done.stdout  # the refused cell did not run


def test_a_daemon_restart_loses_one_reply_and_never_reruns_the_cell():
    with jupyter_env() as env:
        install_kernel(env.prefix, "--session", "restart")
        km, kc = start_new_kernel(kernel_name=f"{KERNEL}-restart")
        try:
            run(kc, "(define (spin) (spin))")
            # Its error must not abort the next cell: ipykernel aborts requests that arrive
            # before it has finished handling an error (stop_on_error), which under load
            # included the `(+ 1 2)` below.
            msg_id = kc.execute("(spin)", stop_on_error=False)
            journal = env.omega.session_dir / "sessions" / "restart.jsonl"
            wait_until(lambda: '"code":"(spin)"' in journal.read_text(),
                       what="the runaway cell's input on disk")
            env.daemon.signal(signal.SIGKILL)
            env.daemon.wait()
            reply = kc.get_shell_msg(timeout=TIMEOUT)
            assert reply["parent_header"]["msg_id"] == msg_id
            assert "its reply was lost, and it is not sent again" in reply["content"]["evalue"]
            reply, outputs = run(kc, "(+ 1 2)")  # a daemon is started again for this cell
            assert reply["status"] == "ok", reply
            assert value(outputs) == "3", (reply, outputs)
            assert journal.read_text().count('"code":"(spin)"') == 1
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_shutdown_detaches_and_leaves_the_session_alive(jupyter, shared_spec):
    km, kc = start_new_kernel(kernel_name=shared_spec)
    pid = km.provisioner.pid
    try:
        run(kc, "(define kept 'yes)")
        kc.shutdown()  # what a notebook sends: the kernel then exits by itself, nobody kills it
        assert km.provisioner.process.wait(timeout=TIMEOUT) == 0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert pid_gone(pid)
    with other_client(jupyter) as client:
        def detached() -> bool:
            connections = client.call("server.status")["connections"]
            return not any(c["peer_pid"] == pid for c in connections)

        wait_until(detached, what="the kernel's connection to end")
        listed = client.call("session.list", {})["sessions"]
        assert any(s["name"] == SESSION and s["in_memory"] for s in listed)
    assert jupyter.omegacli("-s", SESSION, "-c", "kept").stdout == "=> yes\n"


def test_execution_count_is_the_sessions_input_count(jupyter, kernel):
    _, kc = kernel
    first = kc.execute_interactive("(+ 1 1)", timeout=TIMEOUT)["content"]["execution_count"]
    journal = jupyter.omega.session_dir / "sessions" / f"{SESSION}.jsonl"
    assert first == journal.read_text().count('"type":"input"')
    done = jupyter.omegacli("-s", SESSION, "-c", "(+ 2 2) (+ 3 3)")  # two inputs, elsewhere
    assert done.returncode == 0, done.stderr
    after = kc.execute_interactive("(+ 4 4)", timeout=TIMEOUT)["content"]["execution_count"]
    assert after == first + 3
    km2, kc2 = start_new_kernel(kernel_name=f"{KERNEL}-{SESSION}")  # a new notebook goes on
    try:
        reply = kc2.execute_interactive("(+ 5 5)", timeout=TIMEOUT)["content"]
        assert reply["execution_count"] == after + 1
    finally:
        kc2.stop_channels()
        km2.shutdown_kernel(now=True)
