"""The Anthropic messages adapter (set ANTHROPIC_BASE_URL for another server speaking that API).

The reference's blocking mode: the system prompt apart, the six tools with `input_schema`,
max_tokens 4096, `anthropic-version: 2023-06-01`; tool results go back as one user message of
`tool_result` blocks."""

from __future__ import annotations

from typing import Any

from omegad.oracle.base import OracleError
from omegad.oracle.provider import TOOLS, ProviderOracle, Reply, format_anthropic

DEFAULT_MODEL = "claude-sonnet-4-20250514"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"

SYSTEM_PROMPT = """You are an Oracle for a Lisp runtime.

CRITICAL: You MUST use the 'return' tool to provide your final answer. \
Do NOT write text answers directly.

For simple questions (yes/no, factual answers):
- Call the 'return' tool immediately with your answer

For computation requiring Lisp:
- Use 'eval' tool first, then 'return' tool with the result

You have these tools:
- return(value): Provide your final answer (REQUIRED)
- eval(expr): Run Lisp code only if needed"""

# The reference's Anthropic tool list: the same tools, with shorter descriptions in places.
_SHORTER = {
    ("eval", "expr"): "Lisp expression to evaluate (e.g., '(+ 1 2)')",
    ("apply", "args"): "Arguments",
    ("observe", "what"): "What to observe",
    ("match", "pattern"): "Pattern with ?x binders",
    ("assert", "predicate"): "Predicate expression",
    ("assert", "msg"): "Error message if false",
    ("return", "value"): "Value to return (as Lisp literal)",
    ("return", "confidence"): "Confidence 0-1",
}
_TOOL_DESCRIPTION = {"observe": "Observe runtime state (stack, control, handlers, store)"}


def _tool(t: dict[str, Any]) -> dict[str, Any]:
    props = {}
    for name, prop in t["parameters"]["properties"].items():
        prop = dict(prop)
        prop["description"] = _SHORTER.get((t["name"], name), prop["description"])
        props[name] = prop
    schema = {"type": "object", "properties": props, "required": t["parameters"]["required"]}
    return {"name": t["name"], "description": _TOOL_DESCRIPTION.get(t["name"], t["description"]),
            "input_schema": schema}


ANTHROPIC_TOOLS = [_tool(t) for t in TOOLS]


class AnthropicOracle(ProviderOracle):
    name = "anthropic"
    path = "/v1/messages"
    system_prompt = SYSTEM_PROMPT

    def format_val(self, v: Any) -> str:
        return format_anthropic(v)

    def first_messages(self, prompt: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": prompt}]

    def body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        c = self.config
        return {"model": c.model, "max_tokens": c.max_tokens, "system": self.system_prompt,
                "tools": ANTHROPIC_TOOLS, "messages": messages}

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "anthropic-version": API_VERSION}
        if self.config.api_key:
            h["x-api-key"] = self.config.api_key
        return h

    def read(self, data: dict[str, Any]) -> Reply:
        content = data.get("content")
        if not isinstance(content, list):
            raise OracleError("anthropic: the answer has no content")
        text, calls = "", []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                text += str(block.get("text", ""))
            elif block.get("type") == "tool_use":
                args = block.get("input")
                calls.append((block.get("id", ""), block.get("name", ""),
                              args if isinstance(args, dict) else {}))
        return Reply(text, calls, {"role": "assistant", "content": content})

    def tool_results(self, results: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": i, "content": c} for i, c in results]}]

    def usage(self, data: dict[str, Any]) -> int | None:
        u = data.get("usage")
        if not isinstance(u, dict):
            return None
        n = [u.get("input_tokens"), u.get("output_tokens")]
        return sum(x for x in n if isinstance(x, int)) if any(isinstance(x, int) for x in n) \
            else None
