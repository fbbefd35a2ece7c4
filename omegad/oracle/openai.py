"""The OpenAI chat-completions adapter (and any server that speaks that API: set OPENAI_BASE_URL).

The reference's blocking mode: system + user message, the six tools as functions,
`tool_choice: auto`, temperature 0.7, max_tokens 4096; tool results go back as `role: tool`."""

from __future__ import annotations

import json
from typing import Any

from omegad.oracle.base import OracleError
from omegad.oracle.provider import TOOLS, ProviderOracle, Reply, format_openai

DEFAULT_MODEL = "gpt-4o"
DEFAULT_BASE_URL = "https://api.openai.com/v1"

SYSTEM_PROMPT = """You are an Oracle that answers questions using tool calls.

CRITICAL: You MUST use the 'return' tool to provide your answer. Do NOT write text answers directly.

For simple questions (yes/no, factual answers):
- Call the 'return' tool immediately with your answer

For computation requiring Lisp:
- Use 'eval' tool first, then 'return' tool with the result

You have these tools:
- return(value): Provide your final answer (REQUIRED for all responses)
- eval(expr): Run Lisp code only if needed"""

FUNCTIONS = [{"type": "function",
              "function": {"name": t["name"], "description": t["description"],
                           "parameters": t["parameters"]}} for t in TOOLS]


class OpenAIOracle(ProviderOracle):
    name = "openai"
    path = "/chat/completions"
    system_prompt = SYSTEM_PROMPT

    def format_val(self, v: Any) -> str:
        return format_openai(v)

    def first_messages(self, prompt: str) -> list[dict[str, Any]]:
        return [{"role": "system", "content": self.system_prompt},
                {"role": "user", "content": prompt}]

    def body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        c = self.config
        return {"model": c.model, "messages": messages, "tools": FUNCTIONS,
                "tool_choice": "auto", "max_tokens": c.max_tokens, "temperature": c.temperature}

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.config.api_key:
            h["Authorization"] = f"Bearer {self.config.api_key}"
        return h

    def read(self, data: dict[str, Any]) -> Reply:
        choices = data.get("choices")
        message = choices[0].get("message") if isinstance(choices, list) and choices \
            and isinstance(choices[0], dict) else None
        if not isinstance(message, dict):
            raise OracleError("openai: the answer has no message")
        calls = []
        for tc in message.get("tool_calls") or []:
            fn = tc.get("function") or {}
            try:
                args = json.loads(fn.get("arguments") or "{}")
            except ValueError:
                args = {}
            calls.append((tc.get("id", ""), fn.get("name", ""),
                          args if isinstance(args, dict) else {}))
        text = message.get("content")
        return Reply(text if isinstance(text, str) else "", calls, message)

    def tool_results(self, results: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return [{"role": "tool", "tool_call_id": i, "content": c} for i, c in results]

    def usage(self, data: dict[str, Any]) -> int | None:
        u = data.get("usage")
        total = u.get("total_tokens") if isinstance(u, dict) else None
        return total if isinstance(total, int) else None
