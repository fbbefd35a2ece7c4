"""`omegad`: flags -> Config, then start safely and run the daemon.

    omegad [--foreground] [--socket PATH] [--session-dir DIR] [--log-level LEVEL] [--idle-exit S]
    omegad --version      its version and the protocol it speaks

Without --foreground the daemon forks into the background once its socket is listening, so
`omegad` returning 0 means "ready". Startup errors go to stderr with exit status 1.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

from omegad import __version__
from omegad.config import Config
from omegad.lifecycle import (
    PidFile,
    StartupError,
    bind_socket,
    check_socket_dir,
    daemonize,
    hold_stop_signals,
    setup_logging,
)
from protocol import PROTOCOL_VERSION, paths
from protocol.settings import settings_of

log = logging.getLogger("omegad")

LOG_LEVELS = ["debug", "info", "warning", "error"]


def parse_args(argv: list[str] | None) -> Config:
    ap = argparse.ArgumentParser(prog="omegad", description="The omega session server.")
    ap.add_argument("--version", action="version",
                    version=f"omegad {__version__} (protocol {PROTOCOL_VERSION})")
    ap.add_argument(
        "--foreground", action="store_true", help="stay in the foreground; log to stderr too"
    )
    ap.add_argument(
        "--socket", type=Path, help="Unix socket path (default $OMEGAD_SOCKET or the runtime dir)"
    )
    ap.add_argument(
        "--session-dir",
        type=Path,
        help="session dir for clients naming none (default $OMEGA_SESSION_DIR, else user data dir)",
    )
    ap.add_argument(
        "--log-level", choices=LOG_LEVELS, default=os.environ.get("OMEGAD_LOG_LEVEL", "info")
    )
    ap.add_argument(
        "--idle-exit",
        type=float,
        metavar="SECONDS",
        help="exit after SECONDS without any connection",
    )
    ap.add_argument(
        "--fsync", choices=["always", "everysec", "no"], default="everysec",
        help="when journal and checkpoint writes reach the disk (default everysec)",
    )
    ap.add_argument(
        "--max-sessions", type=int, default=64, metavar="N",
        help="session states kept in memory; idle ones beyond are evicted (default 64)",
    )
    ap.add_argument(
        "--max-memory", type=_size, default=1 << 30, metavar="BYTES",
        help="memory for session states, by the evaluator's accounting (default 1G; K/M/G ok)",
    )
    args = ap.parse_args(argv)
    if args.max_sessions < 1:
        ap.error("--max-sessions must be at least 1")
    if args.idle_exit is not None and args.idle_exit <= 0:
        ap.error("--idle-exit must be positive")
    named_socket = args.socket is not None or "OMEGAD_SOCKET" in os.environ
    sock = (args.socket or paths.socket_path()).expanduser().absolute()
    session_dir = args.session_dir or (
        Path(os.environ["OMEGA_SESSION_DIR"])
        if os.environ.get("OMEGA_SESSION_DIR")
        else paths.user_data_dir()
    )
    return Config(
        socket=sock,
        session_dir=session_dir.expanduser().absolute(),
        log_level=args.log_level,
        idle_exit=args.idle_exit,
        foreground=args.foreground,
        fsync=args.fsync,
        max_sessions=args.max_sessions,
        max_memory=args.max_memory,
        private_runtime_dir=not named_socket,
        settings=settings_of(os.environ),
    )


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    scale = units.get(text[-1:], 1)
    try:
        value = int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("a size must be positive")
    return value


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    hold_stop_signals()
    try:
        check_socket_dir(config.socket.parent, private_dir=config.private_runtime_dir)
        setup_logging(config)
        pidfile = PidFile(config.pidfile)
        try:
            listen_sock = bind_socket(config.socket, private_dir=config.private_runtime_dir)
        except StartupError:
            pidfile.remove()
            raise
    except StartupError as e:
        if logging.getLogger().handlers:
            log.error("cannot start: %s", e)
        if not config.foreground or not logging.getLogger().handlers:
            print(f"omegad: {e}", file=sys.stderr)
        return 1
    if not config.foreground:
        daemonize(config.log_file, pidfile)

    import trio

    import omegad.methods  # noqa: F401  (registers the handlers)
    from omegad.daemon import Daemon

    try:
        trio.run(Daemon(config, listen_sock, pidfile).run)
    finally:
        logging.shutdown()  # flush the log file
    return 0


if __name__ == "__main__":
    sys.exit(main())
