"""POST a JSON request to a provider: timeouts, retries with backoff on 429 / 5xx, clear errors.

HTTP goes through httpx (on trio through anyio), so a request is an ordinary awaitable: it never
blocks the daemon's event loop, and cancelling the command (interrupt, `$/cancelRequest`) closes
the connection at once. The API key travels in a header only; no error text ever carries it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import trio

from omegad.oracle.base import OracleError

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class ProviderError(OracleError):
    """The provider answered with an error (or not at all): `<provider>: <status> <message>`."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HttpPolicy:
    timeout: float = 120.0      # seconds for one attempt (connect, send, each read)
    retries: int = 4            # further attempts after a 429 / 5xx / lost connection
    backoff: float = 1.0        # first wait in seconds, doubled per attempt
    max_backoff: float = 30.0   # no wait is longer (a Retry-After header is capped too)


async def post_json(provider: str, url: str, headers: dict[str, str], body: bytes,
                    policy: HttpPolicy, secret: str = "") -> dict[str, Any]:
    """The provider's JSON answer to one request; ProviderError when it fails for good."""
    httpx, tls = await _client_parts()
    timeout = httpx.Timeout(policy.timeout)
    async with httpx.AsyncClient(timeout=timeout, verify=tls) as client:
        attempt = 0
        while True:
            wait = policy.backoff * (2 ** attempt)
            try:
                resp = await client.post(url, content=body, headers=headers)
            except httpx.TimeoutException:
                raise ProviderError(
                    f"{provider}: no answer within {policy.timeout:g} s (timed out)") from None
            except httpx.TransportError as e:
                failure = ProviderError(_scrub(f"{provider}: connection failed: {e}", secret))
            else:
                if resp.status_code < 300:
                    try:
                        data = resp.json()
                    except ValueError:
                        raise ProviderError(
                            f"{provider}: HTTP {resp.status_code}: the answer is not JSON",
                            resp.status_code) from None
                    if not isinstance(data, dict):
                        raise ProviderError(_scrub(
                            f"{provider}: unexpected answer: {_cut(resp.text)}", secret))
                    return data
                failure = ProviderError(
                    _scrub(f"{provider}: HTTP {resp.status_code}: {_message(resp)}", secret),
                    resp.status_code)
                if resp.status_code not in RETRY_STATUSES:
                    raise failure
                wait = _retry_after(resp) or wait
            if attempt >= policy.retries:
                if policy.retries:
                    raise ProviderError(f"{failure} (after {attempt + 1} attempts)",
                                        failure.status)
                raise failure
            attempt += 1
            await trio.sleep(min(wait, policy.max_backoff))


_parts: tuple[Any, Any] | None = None


async def _client_parts() -> tuple[Any, Any]:
    """httpx and one TLS context, made once in a worker thread: importing httpx and loading the
    CA bundle take ~50 ms and ~80 ms of CPU, which must not stall the event loop (a client made
    with a ready context costs well under a millisecond)."""
    global _parts
    if _parts is None:
        def make() -> tuple[Any, Any]:
            import os
            import ssl

            import certifi
            import httpx

            cafile = os.environ.get("SSL_CERT_FILE") or certifi.where()  # as httpx does
            return httpx, ssl.create_default_context(cafile=cafile)

        _parts = await trio.to_thread.run_sync(make)
    return _parts


def _message(resp: Any) -> str:
    """The provider's own error message: both APIs put it in `{"error": {"message": …}}`."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            kind = err.get("type")
            return f"{err['message']}" + (f" ({kind})" if isinstance(kind, str) else "")
        if isinstance(err, str):
            return err
        return _cut(json.dumps(data, ensure_ascii=False))
    return _cut(resp.text.strip()) or resp.reason_phrase


def _retry_after(resp: Any) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
