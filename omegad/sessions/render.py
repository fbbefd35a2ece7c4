"""Text the `:session` commands print about journals: trace lines, checkpoint lists.

Widths and cuts count UTF-16 code units, as the reference's JavaScript strings do.
"""

from __future__ import annotations

from omegad.persist.events import Event, iso_utc, utf16_cut, utf16_len

MAX_WIDTH = 60
LLM_BUFFER = 20

_TAGS = {
    "input": ("REPL", ">"), "step": ("EVAL", "~"), "checkpoint": ("SAVE", "*"),
    "effect": ("EFCT", "!"), "llm_req": ("LLM ", "->"), "llm_resp": ("LLM ", "<-"),
    "resume": ("RSME", "<~"), "result": ("OUT ", "=>"), "error": ("ERR ", "!!"),
}


def truncate(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if utf16_len(text) <= width:
        return text
    if width <= 3:
        return "..."[:width]
    return utf16_cut(text, width - 3) + "..."


def _content(event: Event) -> str:
    kind = event["type"]
    if kind == "input":
        return truncate(event["code"], MAX_WIDTH)
    if kind == "step":
        return truncate(event["ctrl"], MAX_WIDTH)
    if kind == "checkpoint":
        return truncate(f"checkpoint ({event['reason']})", MAX_WIDTH)
    if kind == "effect":
        args = f" {event['argsPreview']}" if event.get("argsPreview") else ""
        return truncate(f"{event['op']}{args}", MAX_WIDTH)
    if kind == "llm_req":
        return f"{event['model']}: {truncate(event['promptPreview'], MAX_WIDTH - LLM_BUFFER)}"
    if kind == "llm_resp":
        value = truncate(event["valuePreview"], MAX_WIDTH - LLM_BUFFER)
        return f"{value} ({_js_number(event['durationMs'])}ms)"
    if kind == "resume":
        return truncate(event["valuePreview"], MAX_WIDTH)
    if kind == "result":
        return truncate(event["value"], MAX_WIDTH)
    return truncate(event["message"], MAX_WIDTH)


def _js_number(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else repr(n)


def render_event(event: Event, show_time: bool = False) -> str:
    tags = _TAGS.get(event.get("type", ""))
    if tags is None:
        return ""
    source, symbol = tags
    time_part = f"{iso_utc(int(event['ts']))} " if show_time else ""
    indent = "  " * max(0, int(event.get("d", 0)))
    return f"[{event['seq']:03d}] {time_part}{indent}{source} {symbol} {_content(event)}"


def render_header(header: Event) -> str:
    return f"=== Session {header['id']} ({header['created']}) ==="


def render_trace(header: Event | None, events: list[Event], show_time: bool = False) -> list[str]:
    """The trace as output lines (a multi-line input spans several lines, as in the reference)."""
    lines = [render_header(header)] if header else []
    lines.extend(line for line in (render_event(e, show_time) for e in events) if line)
    return "\n".join(lines).split("\n") if lines else [""]
