"""Which oracle a connection's commands use, from the settings its client sent (`server.hello` env:
its OMEGA_* and provider variables and its working directory's `.env`).

    OMEGA_ORACLE=scripted | rules:PATH | openai | anthropic      an explicit choice wins
    OMEGA_SCRIPTED_ORACLE=1                                      the reference's scripted mode
    OMEGA_ADAPTER=openai | anthropic                             the reference's provider choice
    OPENAI_API_KEY / ANTHROPIC_API_KEY                           a key alone chooses its provider
    OMEGA_MODEL, OPENAI_BASE_URL, ANTHROPIC_BASE_URL             model and server
    OMEGA_HTTP_TIMEOUT, OMEGA_HTTP_RETRIES, OMEGA_HTTP_BACKOFF   seconds / attempts / first wait
    OMEGA_SEARCH_CONCURRENCY                                     search.op samples at a time (4)

A base URL taken from the client's `.env` (its names are in OMEGA_DOTENV_NAMES, which `server.hello`
sets from the client's `dotenv` report) is never sent a key from the client's environment: such a
provider is unusable and says why (README, "LLM providers").

With no choice and no key the scripted oracle answers (the reference would call OpenAI without a
key and print `=> null`: DIVERGENCES C11). A provider chosen without its key fails each call with
a clear error, unless a base URL names another server (local servers often need no key).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from omegad.oracle.base import Oracle, OracleError
from omegad.oracle.http import HttpPolicy
from omegad.oracle.scripted import ScriptedOracle

_SCRIPTED = ScriptedOracle()
_KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_URLS = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}
DOTENV_NAMES = "OMEGA_DOTENV_NAMES"  # the settings that came from the client's .env (comma list)


class FailingOracle:
    """The settings name an oracle that cannot answer (no key, no rules file): each call says
    why, as an `error:` line, instead of the daemon failing the whole command."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message

    def describe(self) -> str:
        return f"{self.name} (unusable: {self.message})"

    async def call(self, request, host=None):
        raise OracleError(self.message)


def choice_from_env(env: Mapping[str, str]) -> str:
    """`scripted`, `rules:PATH`, `openai` or `anthropic`."""
    choice = env.get("OMEGA_ORACLE", "").strip()
    if choice:
        return choice
    if env.get("OMEGA_SCRIPTED_ORACLE") == "1":
        return "scripted"
    adapter = env.get("OMEGA_ADAPTER", "").strip().lower()
    if adapter in _KEYS:
        return adapter
    for name, var in _KEYS.items():
        if env.get(var):
            return name
    return "scripted"


def oracle_from_env(env: Mapping[str, str]) -> Oracle:
    choice = choice_from_env(env)
    if choice.startswith("rules:"):
        from omegad.oracle.rules import RulesOracle

        path = choice[len("rules:"):]
        if not os.path.isabs(os.path.expanduser(path)):
            return FailingOracle("rules", f"rules file {path}: a relative path needs the "
                                 "client's working directory (cwd in server.hello)")
        try:
            return RulesOracle.from_file(path)
        except (OSError, ValueError) as e:
            return FailingOracle("rules", f"rules file {path}: {e}")
    if choice in _KEYS:
        return provider_from_env(choice, env)
    if choice != "scripted":
        return FailingOracle(choice, f"OMEGA_ORACLE: unknown oracle '{choice}' "
                             "(scripted, rules:PATH, openai, anthropic)")
    return _SCRIPTED


def provider_from_env(adapter: str, env: Mapping[str, str]):
    key = env.get(_KEYS[adapter], "")
    base = env.get(_URLS[adapter], "")
    if not key and not base:
        return FailingOracle(adapter, f"{adapter}: {_KEYS[adapter]} is not set")
    mixed = mixed_sources(adapter, env)
    if mixed:
        return FailingOracle(adapter, mixed)
    from omegad.oracle.provider import ProviderConfig

    mod: ModuleType
    if adapter == "openai":
        from omegad.oracle import openai

        mod = openai
    else:
        from omegad.oracle import anthropic

        mod = anthropic
    defaults = HttpPolicy()
    policy = HttpPolicy(
        timeout=_number(env, "OMEGA_HTTP_TIMEOUT", defaults.timeout),
        retries=int(_number(env, "OMEGA_HTTP_RETRIES", defaults.retries)),
        backoff=_number(env, "OMEGA_HTTP_BACKOFF", defaults.backoff),
    )
    config = ProviderConfig(
        adapter=adapter, model=env.get("OMEGA_MODEL") or mod.DEFAULT_MODEL, api_key=key,
        base_url=base or mod.DEFAULT_BASE_URL, policy=policy,
        search_concurrency=int(_number(env, "OMEGA_SEARCH_CONCURRENCY", 4)))
    cls = mod.OpenAIOracle if adapter == "openai" else mod.AnthropicOracle
    return cls(config)


def mixed_sources(adapter: str, env: Mapping[str, str]) -> str:
    """Why a key from the environment is not sent to a base URL from the .env ("" when fine)."""
    key_var, url_var = _KEYS[adapter], _URLS[adapter]
    from_dotenv = env.get(DOTENV_NAMES, "").split(",")
    if env.get(key_var) and env.get(url_var) and url_var in from_dotenv \
            and key_var not in from_dotenv:
        return (f"{url_var} comes from the client's .env but {key_var} from its environment; "
                "a key is sent only to a base URL set in the same place (set both in the .env, "
                "or both in the environment)")
    return ""


def anchor_paths(env: dict[str, str], cwd: Path | None) -> None:
    """A relative `rules:PATH` from a client is relative to its working directory, not to the
    daemon's: made absolute against `cwd` (left as it is without one: it then fails by name)."""
    choice = env.get("OMEGA_ORACLE", "").strip()
    if choice.startswith("rules:") and cwd is not None:
        path = choice[len("rules:"):]
        if path and not os.path.isabs(os.path.expanduser(path)):
            env["OMEGA_ORACLE"] = f"rules:{cwd / path}"


def describe(oracle: Oracle) -> str:
    """What `server.status` and the banner show: never a key."""
    d = getattr(oracle, "describe", None)
    return d() if callable(d) else oracle.name


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(env[name])
    except (KeyError, ValueError):
        return default
    return value if value >= 0 else default


def oracle_description(env: dict[str, str]) -> str:
    """Which oracle a connection's commands use, as `server.hello` and `server.status` show it:
    the adapter, model and server, never a key."""
    text = describe(oracle_from_env(env))
    if text == "scripted" and choice_from_env(env) == "scripted" and not (
            env.get("OMEGA_ORACLE") or env.get("OMEGA_SCRIPTED_ORACLE") == "1"):
        return "scripted (no provider configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY "\
               "or OMEGA_ORACLE)"
    return text
