"""The reference REPL's journal events, built as ordered dicts.

Key order matters: the reference writes `JSON.stringify(event)` and indexes byte offsets, so each
builder below lists its keys exactly in the reference's order (reference-sessions.md §2).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]

PREVIEW_LIMIT = 200  # UTF-16 code units, as the reference's previews


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_utc(ms: int) -> str:
    """JavaScript's `new Date(ms).toISOString()`."""
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def utf16_cut(text: str, limit: int) -> str:
    """The first `limit` UTF-16 code units of `text`, as JavaScript's `slice(0, limit)`.

    A surrogate pair cut in half leaves a lone surrogate, which no UTF-8 output can carry: it
    becomes U+FFFD, as Node prints it.
    """
    if utf16_len(text) <= limit:
        return text
    units = text.encode("utf-16-le", "surrogatepass")[: 2 * limit]
    cut = units.decode("utf-16-le", "surrogatepass")
    if cut and "\ud800" <= cut[-1] <= "\udfff":
        cut = cut[:-1] + "\ufffd"
    return cut


def utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def header(session_id: str, created_ms: int | None = None) -> Event:
    created = iso_utc(now_ms() if created_ms is None else created_ms)
    return {"type": "session", "version": 1, "id": session_id, "created": created}


def input_event(seq: int, code: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "input", "code": code}


def step_event(seq: int, depth: int, ctrl: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "step", "d": depth, "ctrl": ctrl}


def result_event(seq: int, value: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "result", "value": value}


def error_event(seq: int, depth: int, message: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "error", "d": depth, "message": message}


def checkpoint_event(seq: int, depth: int, reason: str) -> Event:
    return {
        "seq": seq, "ts": now_ms(), "type": "checkpoint", "d": depth,
        "reason": reason, "stateId": f"state-{seq}",
    }


def effect_event(seq: int, depth: int, op: str, args_preview: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "effect", "d": depth, "op": op,
            "argsPreview": args_preview}


def llm_req_event(seq: int, depth: int, model: str, prompt: str, key: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "llm_req", "d": depth, "model": model,
            "promptPreview": utf16_cut(prompt, PREVIEW_LIMIT), "receiptKey": key}


def llm_resp_event(seq: int, depth: int, value: str, duration_ms: int, key: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "llm_resp", "d": depth,
            "valuePreview": utf16_cut(value, PREVIEW_LIMIT), "durationMs": duration_ms,
            "receiptKey": key}


def resume_event(seq: int, depth: int, value: str) -> Event:
    return {"seq": seq, "ts": now_ms(), "type": "resume", "d": depth,
            "valuePreview": utf16_cut(value, PREVIEW_LIMIT)}
