"""Omega Lisp: reader, compiler, step machine, primitives, printer. Pure: no I/O, no trio.

The session actor's API (see api.py for the protocol of a run):

    ReplState()                          globals + gensym counter + macro table (+ revisions)
    parse_inputs(text) -> [Form]         one Form per top-level form (Form.error: reader error)
    start(state, form, *, output_sink, step_budget, memory_budget, depth_limit, nested) -> Run
    Run.run(max_steps) -> Done | Failed | NeedsOracle | Running
    Run.resume(OracleResponse) / Run.resume_error(msg) / Run.abandon()
    capture(state) -> Revision           restore(state, revision) -> state
    prune_revisions(revision)            forget the history before a revision
    serialize(state) -> bytes            serialize_delta(state, since_revision) -> bytes
    deserialize(bytes, base=None) -> state
    memory_estimate(state) -> int        global_names(state)   state.user_names()
    format_value(v) -> "=> ..."          define_name(datum) -> echo name or None
    encode_value(v) / decode_value(x)    Lisp value <-> JSON-able form (receipts, results)
"""

# Load the submodule `serialize` first: loading it later (api.serialize imports it lazily) would
# rebind the package attribute `serialize` from the function below to the module.
from . import serialize as _serialize_module  # noqa: F401, I001
from .api import (
    Done,
    Failed,
    Form,
    NeedsOracle,
    ReplState,
    Run,
    Running,
    capture,
    define_name,
    deserialize,
    format_value,
    global_names,
    memory_estimate,
    parse_inputs,
    prune_revisions,
    restore,
    serialize,
    serialize_delta,
    start,
)
from .effects import OracleRequest, OracleResponse, Sample, decode_value, encode_value
from .printer import display_str, write_str
from .values import LispError

__all__ = [
    "Done", "Failed", "Form", "LispError", "NeedsOracle", "OracleRequest", "OracleResponse",
    "ReplState", "Run", "Running", "Sample", "capture", "decode_value", "define_name",
    "deserialize", "encode_value",
    "display_str", "format_value", "global_names", "memory_estimate", "parse_inputs",
    "prune_revisions", "restore", "serialize", "serialize_delta", "start", "write_str",
]
