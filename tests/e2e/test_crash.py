"""kill -9 at random moments: every acknowledged command survives, every session opens.

Marked slow (50 kills): `make test-slow`, and CI runs it.
"""

import random
import signal
import threading

import pytest

from omegacli.client import DaemonUnreachable
from protocol import errors
from tests.conftest import READY_TIMEOUT
from tests.e2e.conftest import session_client

KILLS = 50
SESSIONS = ["c0", "c1", "c2"]


@pytest.mark.slow
def test_acknowledged_commands_survive_kill_9(start_daemon, omega_env):
    rng = random.Random(1234)
    acked: dict[str, list[int]] = {s: [] for s in SESSIONS}
    counter = 0
    for _round in range(KILLS):
        d = start_daemon()
        stop = threading.Event()
        serving = threading.Event()

        def drive(d=d, stop=stop, serving=serving) -> None:
            nonlocal counter
            try:
                with session_client(d, omega_env.session_dir) as c:
                    serving.set()
                    while not stop.is_set():
                        counter += 1
                        name = SESSIONS[counter % len(SESSIONS)]
                        n = counter
                        out = c.call("session.execute",
                                     {"session": name, "command": f"(define v{n} {n})"})["output"]
                        assert out == f"=> v{n}"
                        acked[name].append(n)
            except (DaemonUnreachable, OSError, errors.RpcError):
                pass  # the daemon died under us: the unanswered command may or may not be there
            finally:
                serving.set()

        driver = threading.Thread(target=drive)
        driver.start()
        # Counted from its hello, not from its socket listening: a loaded machine may take longer
        # than the whole range to import the daemon, and a round with no command proves nothing.
        serving.wait(READY_TIMEOUT)
        threading.Event().wait(rng.uniform(0.02, 0.3))  # a random moment, not a condition
        d.signal(signal.SIGKILL)
        d.wait()
        stop.set()
        driver.join()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for name, numbers in acked.items():
            assert numbers, f"no command was acknowledged in {name}"
            total = " ".join(f"v{n}" for n in numbers)
            out = c.call("session.execute", {"session": name, "command": f"(list {total})"})
            assert out["output"] == "=> (" + " ".join(str(n) for n in numbers) + ")"
    print(f"\ncrash test: {KILLS} kills; acknowledged and present: "
          + ", ".join(f"{name} {len(numbers)}" for name, numbers in acked.items()))


RECOVERY_KILLS = 12


@pytest.mark.slow
def test_kill_9_while_a_damaged_session_is_being_repaired(start_daemon, omega_env):
    """Kills land while opening repairs a session (a damaged first state record, a torn
    journal line): each repair is redone from where the last one stopped, nothing is lost."""
    rng = random.Random(4321)
    n = 300
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        for i in range(n):
            c.call("session.execute", {"session": "r", "command": f"(define w{i} {i})"})
    d.signal(signal.SIGKILL)
    d.wait()
    sessions = omega_env.session_dir / "sessions"
    ckpt = sessions / "r.ckpt"
    data = bytearray(ckpt.read_bytes())
    data[32 + 30] ^= 0xFF  # inside the first record's body: every state must be rebuilt
    ckpt.write_bytes(bytes(data))
    journal = sessions / "r.jsonl"
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"seq":99999,"ts":1,"type":"inp')  # a torn last line
    for _ in range(RECOVERY_KILLS):
        d = start_daemon()
        opening = threading.Thread(target=_open_quietly, args=(d, omega_env.session_dir))
        opening.start()
        threading.Event().wait(rng.uniform(0.01, 0.4))  # a random moment, not a condition
        d.signal(signal.SIGKILL)
        d.wait()
        opening.join()
    d = start_daemon()
    with session_client(d, omega_env.session_dir) as c:
        names = " ".join(f"w{i}" for i in range(n))
        out = c.call("session.execute", {"session": "r", "command": f"(list {names})"})
        assert out["output"] == "=> (" + " ".join(map(str, range(n))) + ")"
    assert journal.read_bytes().startswith(whole)
    aside = [p.read_bytes() for p in sessions.glob("r.jsonl.torn-*")]
    assert b'{"seq":99999,"ts":1,"type":"inp' in aside
    assert bytes(data[32:]) in [p.read_bytes() for p in sessions.glob("r.ckpt.torn-*")], \
        "the damaged checkpoint records were set aside whole"


def _open_quietly(d, session_dir) -> None:
    try:
        with session_client(d, session_dir) as c:
            c.call("session.open", {"session": "r"})
    except (DaemonUnreachable, OSError, errors.RpcError):
        pass  # killed under us
