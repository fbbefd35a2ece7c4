"""`omegacli`: argument parsing and the one-shot commands.

    omegacli [repl] [-s NAME]                 the REPL: prompt_toolkit on a terminal (repl/),
                                              the reference's piped mode otherwise (sessions.py)
    omegacli [-s NAME] -c CMD | -f FILE [-j]  the reference's batch mode (sessions.py)
    omegacli call METHOD [PARAMS_JSON]        result as JSON on stdout
    omegacli daemon start|stop|status|restart [-j]
    omegacli top [--interval S] [-n N]        live view of sessions and their metrics (top.py)
    omegacli kernel install|list [-s NAME]    the Jupyter kernel's kernelspec (kernel/)
    omegacli --version                        our version and protocol, and the running daemon's

Exit status: 0 ok, 1 an input of -c/-f ended in an `error:` line or `call` ended in an RPC error
(on stderr), 2 bad usage, 3 no daemon reachable (or it could not be started), 130 interrupted by
Ctrl-C.

The one-shot paths import only the standard library's json/socket/argparse and the light parts
of `protocol` (no trio, no msgspec, no prompt_toolkit). A command is a function in COMMANDS taking
the parsed arguments and returning the exit status; `check_flags` refuses flags that contradict
each other or do not apply, so none is dropped without a word.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from omegacli import autostart
from omegacli.client import CANCEL_GRACE, Client, DaemonUnreachable, call_interruptible
from protocol import errors, paths

EXIT_OK, EXIT_RPC_ERROR, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    pass


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Gives the width itself: argparse would import shutil (+bz2, lzma: ~4 ms) to learn it."""

    def __init__(self, prog: str):
        try:
            width = os.get_terminal_size(sys.stderr.fileno()).columns - 2
        except (OSError, ValueError):
            width = 78
        super().__init__(prog, width=width)


DESCRIPTION = "Client of omegad, the omega session server (started when none runs)."

EPILOG = """\
With no COMMAND and none of -c/-f/-s, omegacli starts the REPL (as `omegacli repl`).
-c and -f without -s run in a scratch session that is thrown away afterwards; with -s NAME
they run in session NAME, which keeps what they define. -s NAME alone prints its summary.

exit status: 0 ok; 1 an input of -c/-f ended in an `error:` line, or `call` failed;
2 bad usage; 3 no daemon could be reached or started; 130 interrupted (Ctrl-C).

examples:
  omegacli -s work -c '(define (sq x) (* x x))'   define sq in session work (kept)
  omegacli -f checks.omega -j                      run a file in a scratch session; JSON out
  omegacli call session.list                       one JSON-RPC method; its result as JSON
"""


def _global_flags(ap: argparse.ArgumentParser, default) -> None:
    """Flags accepted before or after the subcommand (`default` SUPPRESS on subparsers)."""
    d = {} if default is None else {"default": default}
    ap.add_argument(
        "--socket", type=Path, help="daemon socket ($OMEGAD_SOCKET or runtime dir)", **d
    )
    ap.add_argument(
        "--session-dir", help="session dir ($OMEGA_SESSION_DIR, ./.omega-session, data dir)", **d
    )
    ap.add_argument(
        "--timeout", type=float, metavar="S", help="cancel the call after S seconds", **d
    )
    ap.add_argument("--no-autostart", action="store_true", help="never start a daemon", **d)


def _subcommand(sub, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=summary, description=description,
                            formatter_class=_Formatter)
    _global_flags(parser, argparse.SUPPRESS)
    return parser


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="omegacli", description=DESCRIPTION, epilog=EPILOG, formatter_class=_Formatter
    )
    _global_flags(ap, None)
    ap.add_argument("-s", "--session", dest="s_session", metavar="NAME",
                    help="run -c/-f (or the REPL) in session NAME; alone: show its summary")
    ap.add_argument("-c", "--cmd", metavar="CMD", help="run one REPL command and exit")
    ap.add_argument("-f", "--file", metavar="FILE", help="run every form of FILE and exit")
    ap.add_argument("-j", "--json", action="store_true",
                    help="with -c/-f: print a JSON object (output, ok, value, error)")
    ap.add_argument("-v", "--verbose", action="store_true", help="verbose oracle traces")
    ap.add_argument("--version", action="store_true",
                    help="print our version and protocol, and the running daemon's")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    repl = _subcommand(
        sub, "repl", "the REPL, in session `current` or -s NAME (the default COMMAND)",
        "The interactive REPL on a terminal; piped stdin runs as the reference's piped mode.")
    repl.add_argument("-s", "--session", dest="s_session", metavar="NAME",
                      default=argparse.SUPPRESS, help="session to work in (default: current)")
    call = _subcommand(sub, "call", "call one JSON-RPC method; print its result as JSON",
                       "Call one method of the daemon and print its result as JSON.")
    call.add_argument("method")
    call.add_argument("params", nargs="?", metavar="PARAMS_JSON", help="a JSON object or array")
    daemon = _subcommand(sub, "daemon", "start, stop or restart the daemon; show its status",
                         "Control the daemon; `status` summarises it (-j: as JSON).")
    daemon.add_argument("action", choices=["start", "stop", "status", "restart"])
    daemon.add_argument("-j", "--json", action="store_true", default=argparse.SUPPRESS,
                        help="status: print server.status as JSON")
    top = _subcommand(sub, "top", "live view of the daemon's sessions (q or Ctrl-C quits)",
                      "A live view of the daemon's sessions and their metrics, like top.")
    top.add_argument("--interval", type=float, default=1.0, metavar="S",
                     help="seconds between refreshes (default 1)")
    top.add_argument("-n", "--frames", type=int, metavar="N", help="stop after N refreshes")
    kernel = sub.add_parser(
        "kernel", help="install the Jupyter kernel's kernelspec, or list installed ones",
        description="Write the omega kernel's kernelspec (for this user unless --sys-prefix or "
                    "--prefix), or list the installed ones. Needs the jupyter extra.",
        formatter_class=_Formatter)
    kernel.add_argument("action", choices=["install", "list"])
    where = kernel.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for this user (the default)")
    where.add_argument("--sys-prefix", action="store_true",
                       help="install into this Python's prefix (a venv or conda env)")
    where.add_argument("--prefix", metavar="PATH", help="install into PATH/share/jupyter")
    kernel.add_argument("--name", metavar="N", help="kernelspec name (default omega[-SESSION])")
    kernel.add_argument("-s", "--session", dest="s_session", metavar="NAME",
                        default=argparse.SUPPRESS,
                        help="the session its notebooks work in (default: $OMEGA_SESSION, else "
                             "the notebook's name, else notebook)")
    return ap


def check_flags(args: argparse.Namespace) -> None:
    """Refuse flags that contradict each other or do not apply to the COMMAND, naming them."""
    if args.cmd is not None and args.file is not None:
        raise UsageError("-c/--cmd and -f/--file cannot be used together: give one of them")
    batch = "-c/--cmd" if args.cmd is not None else "-f/--file" if args.file is not None else None
    if batch and args.command is not None:
        raise UsageError(f"{batch} runs without a COMMAND: drop `{args.command}` or {batch}")
    if args.s_session is not None and args.command not in (None, "repl", "kernel"):
        raise UsageError(f"-s/--session goes with -c, -f, repl or kernel, not with "
                         f"`{args.command}`")
    if args.json and not batch and not (args.command == "daemon" and args.action == "status"):
        raise UsageError("-j/--json goes with -c, -f or `daemon status`")
    if args.command == "top" and args.interval <= 0:
        raise UsageError("--interval must be positive")


def socket_of(args: argparse.Namespace) -> tuple[Path, bool]:
    """The socket path, and whether it was named (flag or $OMEGAD_SOCKET) rather than defaulted."""
    if args.socket is not None:
        return args.socket.expanduser().absolute(), True
    return paths.socket_path(), "OMEGAD_SOCKET" in os.environ


def fail(message: str, status: int) -> int:
    print(f"omegacli: {message}", file=sys.stderr)
    return status


def print_rpc_error(e: errors.RpcError) -> None:
    print(f"omegacli: error {e.code}: {e.message}", file=sys.stderr)
    if e.data is not None:
        print(json.dumps(e.data, indent=2), file=sys.stderr)


def with_client(args: argparse.Namespace, work) -> int:
    """Connect (starting the daemon unless --no-autostart), run `work(client)`, and map what can
    go wrong to the exit statuses: an RPC error 1 (130 when Ctrl-C cancelled it), no daemon 3."""
    sock, named = socket_of(args)
    try:
        client, _ = autostart.connect(
            sock, autostart=not args.no_autostart, session_dir=args.session_dir, socket_named=named
        )
    except DaemonUnreachable as e:
        return fail(str(e), EXIT_UNREACHABLE)
    except errors.RpcError as e:
        print_rpc_error(e)
        return EXIT_RPC_ERROR
    with client:
        try:
            return work(client)
        except errors.RpcError as e:
            print_rpc_error(e)
            return EXIT_INTERRUPTED if getattr(e, "interrupted_by_user", False) else EXIT_RPC_ERROR
        except DaemonUnreachable as e:
            return fail(f"{e}; the outcome is unknown", EXIT_UNREACHABLE)


def cmd_call(args: argparse.Namespace) -> int:
    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as e:
            raise UsageError(f"PARAMS_JSON is not valid JSON: {e}") from None
        if not isinstance(params, dict | list):
            raise UsageError("PARAMS_JSON must be a JSON object or array")

    def call(client: Client) -> int:
        result = call_interruptible(client, args.method, params, args.timeout)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return EXIT_OK

    return with_client(args, call)


def cmd_daemon(args: argparse.Namespace) -> int:
    sock, named = socket_of(args)
    action = args.action
    if action in ("stop", "restart"):
        try:
            client = Client.connect(str(sock))
        except DaemonUnreachable:
            if action == "stop":
                print("omegad is not running")
                return EXIT_OK
        else:
            pid = autostart.running_pid(sock)
            try:
                autostart.stop(client, sock)
            except DaemonUnreachable as e:
                return fail(str(e), EXIT_UNREACHABLE)
            print(f"omegad stopped (pid {pid})")
        if action == "stop":
            return EXIT_OK
    if action in ("start", "restart"):
        try:
            Client.connect(str(sock)).close()
            print(f"omegad is already running (pid {autostart.running_pid(sock)})")
            return EXIT_OK
        except DaemonUnreachable:
            pass
        try:
            autostart.start(sock, socket_named=named).close()
        except DaemonUnreachable as e:
            return fail(str(e), EXIT_UNREACHABLE)
        print(f"omegad started (pid {autostart.running_pid(sock)}) on {sock}")
        return EXIT_OK
    # status
    try:
        with Client.connect(str(sock)) as client:
            status = client.call("server.status")
    except DaemonUnreachable:
        return fail(f"omegad is not running (socket {sock})", EXIT_UNREACHABLE)
    except errors.RpcError as e:
        print_rpc_error(e)
        return EXIT_RPC_ERROR
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        from omegacli.status import summary

        print("\n".join(summary(status)))
    return EXIT_OK


def cmd_version(args: argparse.Namespace) -> int:
    """Our version and protocol, then the running daemon's (asked, never started)."""
    from protocol import PROTOCOL_VERSION, __version__

    print(f"omegacli {__version__} (protocol {PROTOCOL_VERSION})")
    sock, _ = socket_of(args)
    try:
        with Client.connect(str(sock), timeout=CANCEL_GRACE) as client:
            status = client.call("server.status")
    except DaemonUnreachable:
        print(f"omegad: not running (socket {sock})")
        return EXIT_OK
    except (errors.RpcError, OSError) as e:
        print(f"omegad: on {sock}, but it did not answer server.status ({e})")
        return EXIT_OK
    print(f"omegad {status['version']} (protocol {status['protocol']}), pid {status['pid']},"
          f" on {sock}")
    return EXIT_OK


def cmd_session(args: argparse.Namespace) -> int:
    """`repl`, `-s`, `-c`, `-f`: connect (starting the daemon if needed), then run them."""
    from omegacli import sessions

    sock, named = socket_of(args)
    args.session = args.s_session
    showing = args.command is None and args.session is not None
    if not (args.cmd is None and args.file is None and not showing and sys.stdin.isatty()):
        say_dotenv_ignored()  # the REPL says it in its banner
    if args.cmd is not None or args.file is not None:
        source = None if args.file is None else sessions.read_source(args.file)
        if args.file is not None and source is None:
            return EXIT_USAGE  # the file cannot be read: said on stderr, no daemon started
        return with_client(args, lambda client: sessions.cmd_batch(client, args, source))
    if args.command is None and args.session is not None:
        return with_client(args, lambda client: sessions.cmd_show(client, args))
    if sys.stdin.isatty():
        from omegacli import repl  # prompt_toolkit: only on this path

        return repl.main(args, sock, named)
    return with_client(args, lambda client: sessions.cmd_repl(client, args))


def say_dotenv_ignored() -> None:
    """Tell the user, on stderr, that the `.env` here is not theirs and was not read."""
    from omegacli import dotenv

    found = dotenv.read(os.getcwd())
    notice = found.notice() if found is not None else None
    if notice:
        print(f"omegacli: {notice}", file=sys.stderr)


def cmd_top(args: argparse.Namespace) -> int:
    from omegacli import top

    return with_client(args, lambda client: top.run(client, args.interval, args.frames))


def cmd_kernel(args: argparse.Namespace) -> int:
    from omegacli.kernel import spec  # jupyter_client: only on this path

    try:
        if args.action == "list":
            for name, where, session in spec.installed():
                print(f"{name}\t{where}\tsession: {session or '(the notebook name)'}")
            return EXIT_OK
        prefix = sys.prefix if args.sys_prefix else args.prefix
        where = spec.install(args.name, args.s_session, user=prefix is None, prefix=prefix)
    except spec.JupyterMissing as e:
        return fail(str(e), EXIT_USAGE)
    except (ValueError, OSError) as e:
        return fail(f"cannot install the kernelspec: {e}", EXIT_USAGE)
    print(f"Installed kernelspec {Path(where).name} in {where}")
    return EXIT_OK


COMMANDS = {"call": cmd_call, "daemon": cmd_daemon, "repl": cmd_session, "top": cmd_top,
            "kernel": cmd_kernel}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.version:
            return cmd_version(args)
        check_flags(args)
        if args.command is None:
            return cmd_session(args)
        return COMMANDS[args.command](args)
    except UsageError as e:
        parser.print_usage(sys.stderr)
        return fail(str(e), EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
