"""Real HTTP servers on loopback that speak a provider's API, answer from a script and record
every request they get (path, headers, JSON body)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None   # answer only once this is set (a slow provider)


class FakeProvider:
    """`script` answers requests in order; when it runs out, `default` answers."""

    def __init__(self, default: Answer | None = None) -> None:
        self.script: deque[Answer] = deque()
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.closed_early = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                    answer = fake.script.popleft() if fake.script else fake.default
                if answer is None:
                    answer = Answer(500, {"error": {"message": "the fake has no answer"}})
                if answer.hold is not None:
                    while not answer.hold.wait(0.05):
                        if _peer_gone(self.connection):
                            fake.closed_early.set()
                            return
                data = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # serve_forever looks for a shutdown request once per poll interval (0.5 s by default), and
        # every test that uses the fake waits that long in its teardown.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> FakeProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)


def _peer_gone(sock: Any) -> bool:
    import select
    import socket

    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


# --- what each API answers ----------------------------------------------------------------------
def openai_tool_call(name: str, args: dict[str, Any], call_id: str = "call_1") -> Answer:
    return Answer(200, {
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": call_id, "type": "function",
                            "function": {"name": name, "arguments": json.dumps(args)}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})


def openai_text(text: str) -> Answer:
    return Answer(200, {"choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": text}}]})


def anthropic_tool_use(name: str, args: dict[str, Any], use_id: str = "toolu_1") -> Answer:
    return Answer(200, {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "stop_reason": "tool_use",
        "content": [{"type": "tool_use", "id": use_id, "name": name, "input": args}],
        "usage": {"input_tokens": 10, "output_tokens": 5}})


def error(status: int, message: str, kind: str = "server_error") -> Answer:
    return Answer(status, {"error": {"message": message, "type": kind}})
