"""`<name>.receipts`: every receipt appended as it is made, one compact JSON object per line.

The index carries a session's receipts too, but it is refreshed on flush, eviction, close and stop;
this file gets each receipt before its `llm_resp` event reaches the journal, so a session rebuilt
after a crash (`kill -9`) still answers every journaled oracle call from its receipt and never
asks a provider again. A torn last line (a crash mid-write) is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from omegad import owned
from omegad.persist.jsjson import encode_text


def append_receipt(path: Path, receipt: dict[str, Any]) -> None:
    append_receipts(path, [receipt])


def append_receipts(path: Path, receipts: list[dict[str, Any]]) -> None:
    data = encode_text("".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n"
                               for r in receipts))
    fd = owned.open_owned(path, os.O_WRONLY | os.O_APPEND, create=True)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def read_receipts(path: Path) -> dict[str, Any]:
    """The receipts in the file, by key ({} when there is none)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    out: dict[str, Any] = {}
    for raw in data.splitlines():
        try:
            receipt = json.loads(raw)
        except ValueError:
            continue
        if isinstance(receipt, dict) and isinstance(receipt.get("key"), str):
            out[receipt["key"]] = receipt
    return out
