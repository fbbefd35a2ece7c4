"""Which oracle a connection's commands use, from the settings its client sent (`server.hello` env).

`OMEGA_ORACLE=rules:PATH` selects the rules oracle; anything else, for now, the scripted one
(the reference's OMEGA_SCRIPTED_ORACLE mode), which is the offline default.
"""

from __future__ import annotations

from collections.abc import Mapping

from omegad.oracle.base import Oracle
from omegad.oracle.scripted import ScriptedOracle

_SCRIPTED = ScriptedOracle()


def oracle_from_env(env: Mapping[str, str]) -> Oracle:
    choice = env.get("OMEGA_ORACLE", "")
    if choice.startswith("rules:"):
        from omegad.oracle.rules import RulesOracle

        return RulesOracle.from_file(choice[len("rules:"):])
    return _SCRIPTED
