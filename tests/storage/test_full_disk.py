"""A full disk (or a failing one) loses nothing and locks nothing: all-or-nothing per command.

The persistence layer runs over a fault-injecting file layer (faults.py): the Nth write fails
with ENOSPC (the disk then stays full until the test frees it) or EIO (once), after writing part
of its bytes. Every command either is acknowledged (and
then survives: a daemon crash always, a power loss under `--fsync always`) or fails with a
storage error code naming the file, its state unchanged; the next command works once space
returns, without a restart.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from tests.storage.faults import FaultyDisk
from tests.storage.inprocess import RpcFailure, running

COMMANDS = 6



async def run_with_failure(root: Path, policy: str, nth: int, error: int,
                           crash: str) -> tuple[list[int], list[int]]:
    """Run defines with the `nth` write failing; returns (acknowledged, refused) and leaves
    the files as a crash of kind `crash` ("process" or "power") would."""
    acked, refused = [], []
    (root / "sd" / "sessions").mkdir(parents=True)
    with FaultyDisk(root / "sd") as disk:
        async with running(root, fsync=policy) as d:
            await d.execute("s", "(define base 1)")
            disk.fail_write(nth, error)
            for i in range(COMMANDS):
                try:
                    out = await d.execute("s", f"(define c{i} {i * 3})")
                except RpcFailure as e:
                    assert e.code == (-32010 if error == errno.ENOSPC else -32014), e
                    assert e.data["path"].endswith((".jsonl", ".ckpt")), e.data
                    refused.append(i)
                    continue
                assert out == f"=> c{i}"
                acked.append(i)
            assert disk.failed  # (the write did fail: a journal or a state record)
            disk.free()
            for i in refused:  # the state is as before the command: the name is unbound
                assert (await d.execute("s", f"c{i}")).startswith("error"), i
            # space is back: the next command works, and everything acknowledged is there
            assert await d.execute("s", "(define last 99)") == "=> last"
            for i in acked:
                assert await d.execute("s", f"c{i}") == f"=> {i * 3}"
            files = {p: p.read_bytes() for p in (root / "sd").rglob("*") if p.is_file()}
            if crash == "power":
                disk.power_loss()
                files = {p: p.read_bytes() for p in (root / "sd").rglob("*") if p.is_file()}
    # the daemon's clean stop wrote more: put the files back as the crash left them
    for p in list((root / "sd").rglob("*")):
        if p.is_file() and p not in files:
            p.unlink()
    for p, data in files.items():
        p.write_bytes(data)
    return acked, refused


@pytest.mark.parametrize("policy", ["always", "everysec", "no"])
@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO], ids=["ENOSPC", "EIO"])
@pytest.mark.parametrize("crash", ["process", "power"])
async def test_every_command_is_all_or_nothing(root, policy, error, crash):
    refusals = 0
    for nth in (1, 2, 3, 5, 8):
        here = root / f"n{nth}"
        acked, refused = await run_with_failure(here, policy, nth, error, crash)
        refusals += len(refused)
        assert len(acked) + len(refused) == COMMANDS
        async with running(here, fsync=policy) as d:
            for i in range(COMMANDS):
                shown = await d.execute("s", f"c{i}")
                if i in refused:
                    assert shown.startswith("error"), (nth, i, shown)
                elif crash == "process" or policy == "always":
                    assert shown == f"=> {i * 3}", (nth, i, shown)
                else:  # a power loss may take what was not synced: all of it, or none
                    assert shown in (f"=> {i * 3}",) or shown.startswith("error"), shown
            assert await d.execute("s", "(define again 5)") == "=> again"
    assert refusals  # some failures hit a command's own journal write


async def test_a_full_disk_during_flush_is_named_and_leaves_the_index_as_it_was(root):
    (root / "sd" / "sessions").mkdir(parents=True)
    with FaultyDisk(root / "sd") as disk:
        async with running(root) as d:
            await d.execute("s", "(define a 1)")
            await d.call("server.flush")
            index = (root / "sd" / "sessions" / "s.index.json").read_bytes()
            await d.execute("s", "(define b 2)")
            disk.fail_write(1)
            with pytest.raises(RpcFailure) as full:
                await d.call("server.flush")
            disk.free()
            assert full.value.code == -32010 and "s.index.json" in full.value.message
            assert (root / "sd" / "sessions" / "s.index.json").read_bytes() == index
            assert not list((root / "sd" / "sessions").glob(".*.tmp"))
            await d.call("server.flush")  # space is back
            assert await d.execute("s", "b") == "=> 2"


async def test_a_real_small_filesystem_filling_up(root):
    """A 512 KiB tmpfs (skipped where it cannot be mounted): fill it, get -32010 with the path,
    free space, go on without a restart; after a restart everything acknowledged is there."""
    mnt = root / "mnt"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs",
                              str(mnt)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {mounted.stderr.decode().strip()}")
    try:
        (mnt / "sd" / "sessions").mkdir(parents=True)
        async with running(mnt) as d:
            await d.execute("s", "(define a 1)")
            filler = mnt / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"\0" * 512):
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            acked = []
            for i in range(50):
                try:
                    await d.execute("s", f'(define s{i} "{"x" * 2000}")')
                    acked.append(i)
                except RpcFailure as e:
                    assert e.code == -32010 and "No space left" in e.message, e.message
                    assert e.data["path"].endswith("s.jsonl")
                    refused = i
                    break
            else:
                pytest.fail("the disk never filled")
            assert (await d.execute("s", f"s{refused}")).startswith("error")
            filler.unlink()
            assert await d.execute("s", "(define b 2)") == "=> b"
            journal = (mnt / "sd" / "sessions" / "s.jsonl").read_bytes()
            assert journal.endswith(b"\n")
        async with running(mnt) as d:
            assert await d.execute("s", "(list a b)") == "=> (1 2)"
            for i in acked:
                assert (await d.execute("s", f"(string-length s{i})")) == "=> 2000"
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


async def test_a_snapshot_on_a_full_disk_is_refused_and_the_next_one_works(root):
    (root / "sd" / "sessions").mkdir(parents=True)
    with FaultyDisk(root / "sd") as disk:
        async with running(root) as d:
            await d.execute("s", "(define a 1)")
            await d.execute("s", ":session snapshot first")
            listed = await d.execute("s", ":session snapshots")
            disk.fail_write(1)
            with pytest.raises(RpcFailure) as full:
                await d.execute("s", ":session snapshot second")
            disk.free()
            assert full.value.code == -32010 and full.value.data["path"].endswith("s.notes")
            assert await d.execute("s", ":session snapshots") == listed
            assert (await d.execute("s", ":session snapshot third")).startswith("Created")
    async with running(root) as d:
        listed = await d.execute("s", ":session snapshots")
        assert "first" in listed and "third" in listed and "second" not in listed


async def test_saving_as_another_name_on_a_full_disk_leaves_the_target_as_it_was(root):
    (root / "sd" / "sessions").mkdir(parents=True)
    with FaultyDisk(root / "sd") as disk:
        async with running(root) as d:
            b = await d.connection()
            await b.execute("B", "(define old 1)")
            await b.close()
            await d.call("server.flush")
            await d.execute("A", "(define a 2)")
            await d.call("server.flush")
            before = {p.name: p.read_bytes() for p in (root / "sd" / "sessions").glob("B.*")}
            disk.fail_write(3)  # (the clean mark, a first copy, then the disk is full)
            out = await d.execute("A", ":session save B")
            disk.free()
            assert disk.failed_path.endswith(".tmp"), disk.failed_path
            assert out.startswith("Error saving session:") and "No space left" in out, out
            after = {p.name: p.read_bytes() for p in (root / "sd" / "sessions").glob("B.*")}
            assert after == before
            assert not list((root / "sd" / "sessions").glob(".*.tmp"))
            assert await d.execute("B", "old") == "=> 1"


async def test_the_first_input_of_a_new_session_on_a_full_disk_leaves_it_empty(root):
    (root / "sd" / "sessions").mkdir(parents=True)
    with FaultyDisk(root / "sd") as disk:
        async with running(root) as d:
            await d.call("session.open", {"session": "n", "create": True})
            disk.fail_write(1)
            with pytest.raises(RpcFailure) as full:
                await d.execute("n", "(define z 1)")
            disk.free()
            assert full.value.code == -32010
            assert (await d.execute("n", "z")).startswith("error")
            assert await d.execute("n", "(define y 2)") == "=> y"
    async with running(root) as d:
        assert await d.execute("n", "y") == "=> 2"
        assert (await d.execute("n", "z")).startswith("error")
