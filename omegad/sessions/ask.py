"""`:ask QUESTION`: the reference's agentic loop (at most 15 turns) through the connection's
provider, with the REPL tools (evaluation, the debugger, breakpoints); `:traces` and
`:trace ID [-v]` / `:trace --last` show what it did. Texts are the reference's
(`runAgenticQuery`, `formatTrace` in its `bin/omega-repl.ts`); its traces are kept per session.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from omegad.lang import api
from omegad.lang.printer import write_str
from omegad.sessions.mailbox import Job, Reply

if TYPE_CHECKING:
    from omegad.sessions.interface import Session

MAX_ITERATIONS = 15
MAX_TRACES = 100
NO_PROVIDER = ("error: :ask needs an LLM provider; this client's oracle is {oracle}. Set "
               "OPENAI_API_KEY or ANTHROPIC_API_KEY, or OMEGA_ORACLE=openai|anthropic with "
               "OPENAI_BASE_URL / ANTHROPIC_BASE_URL for a local server")


def _tool(name: str, description: str, props: dict[str, Any] | None = None,
          required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"name": name, "description": description,
            "parameters": {"type": "object", "properties": props or {},
                           "required": list(required)}}


def _p(kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


TOOLS = [
    _tool("eval_lisp", "Evaluate a Lisp s-expression and return the result. Use this to run "
          "code, test functions, or compute values.",
          {"code": _p("string", "The Lisp s-expression to evaluate, e.g. '(+ 1 2)' or "
                      "'(define (fact n) (if (<= n 1) 1 (* n (fact (- n 1)))))'")}, ("code",)),
    _tool("get_definitions", "Get a list of all user-defined functions and variables in the "
          "current session."),
    _tool("inspect_value", "Look up the current value of a defined variable or function.",
          {"name": _p("string", "The name of the variable or function to inspect")},
          ("name",)),
    _tool("debug_load", "Load an expression into the debugger for step-by-step execution. "
          "This starts a debug session.",
          {"code": _p("string", "The Lisp expression to debug")}, ("code",)),
    _tool("debug_step", "Execute N steps in the debugger. Returns the current state after "
          "stepping.", {"count": _p("number", "Number of steps to execute (default 1)")}),
    _tool("debug_run", "Run the debugger to completion or until a breakpoint is hit."),
    _tool("debug_goto", "Jump to a specific step in the execution trace (time travel "
          "debugging).", {"step": _p("number", "The step number to jump to")}, ("step",)),
    _tool("debug_state", "Get the current debugger state including control, stack depth, and "
          "step number."),
    _tool("debug_stack", "Get the current call stack showing all continuation frames."),
    _tool("debug_trace", "Get the execution trace showing all recorded steps.",
          {"start": _p("number", "Start index (default 0)"),
           "count": _p("number", "Number of steps to show (default 20)")}),
    _tool("set_breakpoint", "Set a breakpoint. Types: 'step' (break at step N), 'expr' (break "
          "on expression type), 'effect' (break on effect operation).",
          {"type": _p("string", "Breakpoint type", enum=["step", "expr", "effect"]),
           "condition": _p("string", "Condition: step number, expression tag (If, App, Define, "
                           "etc.), or effect name")}, ("type", "condition")),
    _tool("list_breakpoints", "List all set breakpoints."),
    _tool("delete_breakpoint", "Delete a breakpoint by ID.",
          {"id": _p("number", "Breakpoint ID to delete")}, ("id",)),
]

# tool -> the `:` command it runs (its text is the tool's result)
COMMANDS = {
    "debug_load": lambda a: f":debug {a.get('code', '')}",
    "debug_step": lambda a: f":step {_num(a.get('count'), 1)}",
    "debug_run": lambda a: ":run",
    "debug_goto": lambda a: f":goto {_num(a.get('step'), 0)}",
    "debug_state": lambda a: ":state",
    "debug_stack": lambda a: ":stack",
    "debug_trace": lambda a: f":trace {_num(a.get('start'), 0)} {_num(a.get('count'), 20)}",
    "set_breakpoint": lambda a: f":break {a.get('type', '')} {a.get('condition', '')}",
    "list_breakpoints": lambda a: ":breaks",
    "delete_breakpoint": lambda a: f":delbreak {_num(a.get('id'), 0)}",
}


def _num(v: Any, default: int) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default


def system_prompt(defs: list[str]) -> str:
    return f"""You are an assistant with access to a Lisp REPL (Omega dialect) with FULL DEBUGGING capabilities.
You can evaluate Lisp code, inspect definitions, debug step-by-step, set breakpoints, and time-travel through execution.

Current definitions in the session:
{chr(10).join(defs) if defs else "(none)"}

AVAILABLE PRIMITIVES:
- Arithmetic: +, -, *, /, modulo
- Comparison: =, <, >, <=, >=, eq?
- Logic: not, and, or
- List ops: cons, car, cdr, list, append, null?, pair?
- Forms: define, lambda, let, if, begin, quote

AVAILABLE TOOLS:
1. EVALUATION:
   - eval_lisp: Run Lisp code and get the result
   - get_definitions: See all defined functions
   - inspect_value: Look up a specific binding

2. DEBUGGING (step through execution):
   - debug_load: Load expression into debugger
   - debug_step: Execute N steps
   - debug_run: Run to completion/breakpoint
   - debug_goto: Jump to any step (time travel!)
   - debug_state: Current state info
   - debug_stack: View call stack
   - debug_trace: View execution trace

3. BREAKPOINTS:
   - set_breakpoint: Break on step/expr/effect
   - list_breakpoints: Show breakpoints
   - delete_breakpoint: Remove breakpoint

This is a metacircular Lisp - if you need a function that doesn't exist (like map, filter, reverse, length),
DEFINE IT YOURSELF using the primitives above. For example:
  (define (length lst) (if (null? lst) 0 (+ 1 (length (cdr lst)))))
  (define (map f lst) (if (null? lst) (list) (cons (f (car lst)) (map f (cdr lst)))))

When the user asks a question:
1. If it requires computation, use eval_lisp to run code
2. If you need helper functions that don't exist, define them first
3. If debugging is needed, use debug_load to step through execution
4. Test your code before giving the final answer
5. Provide a clear, concise final answer

Always verify your results with actual evaluation rather than guessing."""  # noqa: E501


def _provider(env: dict[str, str]) -> tuple[Any, str | None]:
    """The provider the client's settings choose for its `infer.op` calls too, or the error
    line saying why there is none (naming the settings that would give one)."""
    from omegad.oracle.provider import ProviderOracle
    from omegad.oracle.select import FailingOracle, describe, oracle_from_env

    oracle = oracle_from_env(env)
    if isinstance(oracle, ProviderOracle):
        return oracle, None
    if isinstance(oracle, FailingOracle):
        return None, f"error: :ask: {oracle.message}"
    return None, NO_PROVIDER.format(oracle=describe(oracle))


def _wire_tools(provider: Any) -> list[dict[str, Any]]:
    if provider.name == "anthropic":
        return [{"name": t["name"], "description": t["description"],
                 "input_schema": t["parameters"]} for t in TOOLS]
    return [{"type": "function", "function": t} for t in TOOLS]


def _trace_id() -> str:
    ms = int(time.time() * 1000)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    b36 = ""
    while ms:
        ms, r = divmod(ms, 36)
        b36 = digits[r] + b36
    return f"t-{b36}-{''.join(secrets.choice(digits) for _ in range(6))}"


def _now() -> int:
    return int(time.time() * 1000)


async def ask(actor: Session, question: str, reply: Reply, job: Job) -> None:
    from omegad.oracle.base import OracleError

    if not question:
        reply.line("Usage: :ask <question>")
        return
    provider, why = _provider(job.conn.env if job.conn is not None else {})
    if provider is None:
        reply.line(why or "")
        return
    reply.lines(["; --- agentic session begins ---",
                 f"; using: {provider.name} (tools: native)", f'; question: "{question}"'])
    try:
        answer, trace_id = await _loop(actor, provider, question, job)
    except OracleError as e:
        reply.line(f"LLM error: {e}")
        return
    reply.lines(["", f"Answer: {answer}", "", f"Trace ID: {trace_id}",
                 f"(use ':trace {trace_id}' to see details, ':trace {trace_id} --verbose' for "
                 "full trace)", "; --- agentic session ends ---"])


async def _loop(actor: Session, provider: Any, question: str,
                job: Job) -> tuple[str, str]:
    provider.system_prompt = system_prompt(actor.defs())
    trace: dict[str, Any] = {"id": _trace_id(), "question": question, "startTime": _now(),
                             "entries": [], "toolCallCount": 0}
    traces = actor.debugger().llm_traces
    trace["entries"].append({"type": "request", "timestamp": _now(),
                             "data": {"question": question, "adapter": provider.name}})
    messages = provider.first_messages(question)
    tools = _wire_tools(provider)
    answer = None
    try:
        for _ in range(MAX_ITERATIONS):
            body = provider.body(messages)
            body["tools"] = tools
            r = provider.read(await provider.post(body))
            trace["entries"].append({"type": "response", "timestamp": _now(),
                                     "data": {"content": r.text}})
            if r.calls:
                messages.append(r.message)
                results = []
                for call_id, name, args in r.calls:
                    trace["entries"].append({"type": "tool_call", "timestamp": _now(),
                                             "data": {"id": call_id, "name": name,
                                                      "args": args}})
                    trace["toolCallCount"] += 1
                    started = time.perf_counter()
                    result = await _run_tool(actor, name, args, job)
                    trace["entries"].append({
                        "type": "tool_result", "timestamp": _now(),
                        "data": {"result": result,
                                 "durationMs": round((time.perf_counter() - started) * 1000)}})
                    results.append((call_id, result))
                messages.extend(provider.tool_results(results))
                continue
            if r.text:
                answer = r.text
            break
    finally:
        trace["answer"] = answer or "(no answer - max iterations or error)"
        trace["endTime"] = _now()
        traces[trace["id"]] = trace
        while len(traces) > MAX_TRACES:
            traces.pop(next(iter(traces)))
    return trace["answer"], trace["id"]


async def _run_tool(actor: Session, name: str, args: dict[str, Any], job: Job) -> str:
    if name == "eval_lisp":
        forms = api.parse_inputs(str(args.get("code", "")))
        if forms and forms[0].error:
            return f"error: {forms[0].error}"
        scratch = Reply()
        attached, actor.attached = actor.attached, {}  # tool results go to the model only
        try:
            for form in forms:
                await actor.evaluate_form(form, scratch, job)
        finally:
            actor.attached = attached
        last = scratch.output().split("\n")[-1] if scratch.text else ""
        return last[3:] if last.startswith("=> ") else last
    if name == "get_definitions":
        return "\n".join(actor.defs()) or "(no definitions yet)"
    if name == "inspect_value":
        key = str(args.get("name", ""))
        value = actor.state.globals.get(key)
        return f"{key} = {write_str(value)}" if value is not None else \
            f"(binding '{key}' not found)"
    make = COMMANDS.get(name)
    if make is None:
        return f"Unknown tool: {name}"
    scratch = Reply()
    await actor.run_line(make(args), scratch, job)
    scratch.unsent.clear()
    return scratch.output()


async def traces(actor: Session, _arg: str, reply: Reply, _job: Job) -> None:
    found = actor.debugger().llm_traces
    if not found:
        reply.line("(no traces recorded yet)")
        return
    reply.line("Recent LLM Traces:")
    for tid, t in found.items():
        q = t["question"]
        duration = t["endTime"] - t["startTime"] if t.get("endTime") else "?"
        reply.line(f'  {tid}: "{q[:40]}{"..." if len(q) > 40 else ""}" ({duration}ms, '
                   f'{t["toolCallCount"]} tool calls)')


async def show_trace(actor: Session, arg: str, reply: Reply, _job: Job) -> None:
    parts = arg.split()
    verbose = "--verbose" in parts or "-v" in parts
    found = actor.debugger().llm_traces
    trace: dict[str, Any] | None
    if "--last" in parts or "-l" in parts:
        if not found:
            reply.line("No traces recorded yet.")
            return
        trace = list(found.values())[-1]
    else:
        ident = next((p for p in parts if not p.startswith("-")), None)
        if ident is None:
            reply.line("Usage: :trace <id> [--verbose] or :trace --last [--verbose]")
            return
        trace = found.get(ident)
        if trace is None:
            reply.line(f"Trace '{ident}' not found. Use :traces to list available traces.")
            return
    reply.lines(format_trace(trace, verbose))


def format_trace(trace: dict[str, Any], verbose: bool) -> list[str]:
    end = trace.get("endTime")
    lines = [f"Trace ID: {trace['id']}", f"Question: {trace['question']}",
             f"Answer: {trace.get('answer') or '(none)'}",
             f"Duration: {end - trace['startTime'] if end else '?'}ms",
             f"Tool calls: {trace['toolCallCount']}"]
    if not verbose:
        return lines
    lines += ["", "─── Full Trace ───"]
    for e in trace["entries"]:
        ts = datetime.fromtimestamp(e["timestamp"] / 1000, UTC).strftime("%H:%M:%S.%f")[:12]
        d = e["data"]
        if e["type"] == "request":
            lines += [f"[{ts}] REQUEST", f"  Question: {d['question']}"]
        elif e["type"] == "response":
            lines.append(f"[{ts}] LLM RESPONSE")
            if d.get("content"):
                c = d["content"]
                lines.append(f"  Content: {c[:200]}{'...' if len(c) > 200 else ''}")
        elif e["type"] == "tool_call":
            lines += [f"[{ts}] TOOL CALL: {d['name']}",
                      f"  Args: {json.dumps(d['args'], separators=(',', ':'))}"]
        elif e["type"] == "tool_result":
            r = d["result"]
            lines += [f"[{ts}] TOOL RESULT ({d['durationMs']}ms)",
                      f"  Result: {r[:200]}{'...' if len(r) > 200 else ''}"]
    return lines
