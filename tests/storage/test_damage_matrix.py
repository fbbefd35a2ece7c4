"""The damage matrix: every file of a session × every kind of damage × positions in it.

A template session (an adopted state, then defines past a merge, a snapshot and its notes) is
written once by a real daemon; each case copies it, damages one file, opens the session with a
real daemon (in this process) and checks: it opens; every define whose journal lines are intact
has its value; nothing valid was deleted from the journal or the checkpoint file (what is left,
followed by a quarantine file's bytes, is what was there); and what was repaired is named.
The default run tries sampled positions; `-m slow` tries every record boundary.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from omegad.persist.checkpoints import MERGE, CheckpointFile
from tests.storage.faults import unreadable
from tests.storage.inprocess import RpcFailure, running

DEFINES = 20  # past SPAN = 16: the file has a merge
_TEMPLATE: list[Path] = []


@dataclass(frozen=True)
class Damage:
    file: str  # suffix of the session's file: ".jsonl", ".ckpt" …
    kind: str  # truncate | flip | zeros | garbage | delete | unreadable
    at: int = 0  # byte position (truncate, flip)
    label: str = ""

    def __str__(self) -> str:
        return f"{self.file}-{self.kind}-{self.label or self.at}"


def value(i: int) -> int:
    return i * 7 + 1


async def build_template() -> Path:
    if _TEMPLATE:
        return _TEMPLATE[0]
    root = Path(tempfile.mkdtemp(prefix="om17t-", dir="/tmp"))
    atexit.register(shutil.rmtree, root, True)  # (shared by every case of the module)
    async with running(root) as d:
        await d.execute("base", "(define b 100)")
        await d.execute("s", ":session load base")
        for i in range(DEFINES):
            await d.execute("s", f"(define v{i} {value(i)})")
        await d.execute("s", ":session snapshot")
    _TEMPLATE.append(root / "sd" / "sessions")
    return _TEMPLATE[0]


def boundaries(file: str, data: bytes, template: Path) -> list[tuple[int, str]]:
    """Record boundaries of a file (lines of the journal and notes, records of the .ckpt)."""
    if file == ".ckpt":
        ckpt = CheckpointFile.open(template / "s.ckpt")
        return [(e.offset, f"record{i}-k{e.kind}") for i, e in enumerate(ckpt.entries)]
    if file in (".jsonl", ".notes"):
        return [(i + 1, f"line{n}") for n, i in enumerate(_newlines(data))]
    return [(len(data) // 2, "half")]


def _newlines(data: bytes) -> list[int]:
    return [i for i, b in enumerate(data) if b == 0x0A][:-1]


def flips(file: str, data: bytes, template: Path) -> list[tuple[int, str]]:
    """One byte in each kind of record."""
    if file == ".ckpt":
        ckpt = CheckpointFile.open(template / "s.ckpt")
        seen: dict[int, int] = {}
        for e in ckpt.entries:
            seen.setdefault(min(e.kind, MERGE), e.offset + e.size - 1)  # a body byte
        head = [(5, "header"), (ckpt.entries[0].offset + 2, "first-length")]
        return head + [(at, f"kind{k}") for k, at in sorted(seen.items())]
    if file == ".jsonl":
        out, start, kinds = [], 0, set()
        for end in [*_newlines(data), len(data) - 1]:
            line = data[start:end]
            kind = line.split(b'"type":"', 1)[-1].split(b'"', 1)[0]
            if kind not in kinds:
                kinds.add(kind)
                out.append((start, f"{kind.decode()}-line"))  # its `{`: undecodable
            start = end + 1
        return out
    return [(0, "first"), (len(data) // 2, "middle")]


FILES = (".jsonl", ".ckpt", ".defs", ".index.json", ".notes", ".ckpt.sum")


def cases(full: bool) -> list[Damage]:
    template = _template_now()
    out: list[Damage] = []
    for file in FILES:
        data = (template / f"s{file}").read_bytes()
        marks = boundaries(file, data, template)
        picked = marks if full else list(dict.fromkeys(marks[:: max(1, len(marks) // 6)]
                                                       + marks[-1:]))
        for at, label in picked:
            out.append(Damage(file, "truncate", at, label))
        for at, label in (marks[1:2] + marks[len(marks) // 2:len(marks) // 2 + 1]):
            out += [Damage(file, "truncate", at - 1, label + "-1"),
                    Damage(file, "truncate", at + 1, label + "+1")]
        out += [Damage(file, "flip", at, label) for at, label in flips(file, data, template)]
        out += [Damage(file, kind) for kind in ("zeros", "garbage", "delete", "unreadable")]
    return out


def _template_now() -> Path:
    if not _TEMPLATE:
        trio.run(build_template)
    return _TEMPLATE[0]


def damage(path: Path, d: Damage) -> None:
    data = path.read_bytes()
    if d.kind == "truncate":
        path.write_bytes(data[: d.at])
    elif d.kind == "flip":
        path.write_bytes(data[: d.at] + bytes([data[d.at] ^ 0x5A]) + data[d.at + 1:])
    elif d.kind == "zeros":
        path.write_bytes(data + bytes(4096))
    elif d.kind == "garbage":
        path.write_bytes(data + b"\x93garbage{\n\x00\xff not json\n" + os.urandom(300))
    elif d.kind == "delete":
        path.unlink()


def intact_defines(original: bytes, damaged: bytes) -> list[int]:
    """The defines whose input and result lines are still in the journal, unchanged."""
    lines = damaged.split(b"\n")
    whole = set(lines[:-1]) if not damaged.endswith(b"\n") else set(lines)
    kept = []
    for i in range(DEFINES):
        code = f'"code":"(define v{i} {value(i)})"'.encode()
        inputs = [ln for ln in original.split(b"\n") if code in ln]
        results = [ln for ln in original.split(b"\n") if f'"value":"v{i}"'.encode() in ln]
        if inputs and results and inputs[0] in whole and results[0] in whole:
            kept.append(i)
    return kept


def _bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def nothing_lost(path: Path, before: bytes) -> bool:
    """What is left of `path`, followed by one of its quarantine files, is what was there."""
    after = path.read_bytes() if path.exists() else b""
    if after.startswith(before):
        return True
    for q in path.parent.glob(f"{path.name}.torn-*"):
        aside = q.read_bytes()
        start = len(before) - len(aside)
        if start >= 0 and before[start:] == aside and after[:start] == before[:start]:
            return True
    return False


NOTICED = {  # damages that opening must name (the others may need no repair at all)
    ".jsonl": ("zeros", "garbage"),  # (a line before the newest state is not read to open)
    ".ckpt": ("flip", "zeros", "garbage", "unreadable"),
    ".index.json": ("flip", "zeros", "garbage"),
}


async def check(d: Damage, tmp: Path) -> None:
    template = await build_template()
    sessions = tmp / "sd" / "sessions"
    shutil.copytree(template, sessions)
    for p in sessions.glob("*.torn-*"):
        p.unlink()
    path = sessions / f"s{d.file}"
    original = (template / "s.jsonl").read_bytes()
    damage(path, d)
    journal_before = _bytes(sessions / "s.jsonl")
    ckpt_before = _bytes(sessions / "s.ckpt")
    with unreadable(path if d.kind == "unreadable" else None):
        async with running(tmp) as daemon:
            if d.file == ".jsonl" and d.kind == "unreadable":  # not intact: named, refused
                with pytest.raises(RpcFailure) as refused:
                    await daemon.call("session.open", {"session": "s"})
                assert refused.value.code == -32012 and "s.jsonl" in refused.value.message
                assert await daemon.call("server.ping") == {"pong": True}
                return
            opened = await daemon.call("session.open", {"session": "s", "create": True})
            kept = intact_defines(original, journal_before)
            if kept:
                names = " ".join(f"v{i}" for i in kept)
                shown = await daemon.execute("s", f"(list {names})")
                assert shown == "=> (" + " ".join(str(value(i)) for i in kept) + ")", d
            await daemon.execute("s", "(define after 1)")  # and it takes new inputs
            assert await daemon.execute("s", "after") == "=> 1"
            assert await daemon.call("server.ping") == {"pong": True}
    if d.file == ".jsonl" and d.kind != "delete":
        assert len(kept) == DEFINES or d.kind in ("truncate", "flip", "unreadable"), d
    if d.kind not in ("delete", "unreadable"):
        assert nothing_lost(sessions / "s.jsonl", journal_before), f"{d}: journal bytes lost"
        assert nothing_lost(sessions / "s.ckpt", ckpt_before), f"{d}: checkpoint bytes lost"
    if d.kind in NOTICED.get(d.file, ()):
        assert opened["storage"], f"{d}: opening named nothing"
    truncated_mid = d.kind == "truncate" and d.file in (".jsonl", ".ckpt") and \
        d.label.endswith(("-1", "+1"))
    if truncated_mid and d.file == ".jsonl":
        assert any("incomplete" in n for n in opened["storage"]), d



@pytest.mark.parametrize("d", cases(full=False), ids=str)
async def test_a_damaged_file_loses_no_acknowledged_input(d, root):
    await check(d, root)


@pytest.mark.slow
@pytest.mark.parametrize("d", cases(full=True), ids=str)
async def test_every_record_boundary_of_every_file(d, root):
    await check(d, root)
