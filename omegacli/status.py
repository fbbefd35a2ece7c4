"""`omegacli daemon status`: `server.status` as a few lines a person reads (`-j` prints it raw).

    omegad 0.1.0 (protocol 1), pid 4242, up 2 h 5 min
      socket  /run/user/1000/omega/omegad.sock
      log     /run/user/1000/omega/omegad.log (level info)
      memory  52.3M rss · cpu 3.1 s (0.4 %)
      session dirs  /home/me/.local/share/omega
    2 clients:
      #7   omegacli-repl[5969]   connected 41 min   session dir /home/me/.local/share/omega
      #12  omegacli              connected 0 s      1 request in flight
    1 command running:
      work  `(let loop ((i 0)) (loop (+ i 1)))` from omegacli-repl[5969] for 40 min

Standard library only: a one-shot path.
"""

from __future__ import annotations

from omegacli.human import human_bytes, human_seconds, running_line


def summary(status: dict) -> list[str]:
    config = status["config"]
    lines = [
        f"omegad {status['version']} (protocol {status['protocol']}), pid {status['pid']},"
        f" up {human_seconds(status['uptime_seconds'])}",
        f"  socket  {config['socket']}",
        f"  log     {config['log_file']} (level {config['log_level']})",
        f"  memory  {human_bytes(status['rss_bytes'])} rss · cpu {status['cpu_seconds']:.1f} s"
        f" ({status['cpu_percent']:.1f} %)",
        f"  session dirs  {', '.join(status['session_dirs']) or '(none yet)'}",
    ]
    connections = status["connections"]
    lines.append(_count(len(connections), "client") + ":")
    width = max((len(c["client"] or "(no hello)") for c in connections), default=0)
    for c in connections:
        busy = f"   {_count(c['in_flight'], 'request')} in flight" if c["in_flight"] else ""
        where = f"   session dir {c['session_dir']}" if c["session_dir"] else ""
        lines.append(f"  #{c['id']:<4}{c['client'] or '(no hello)':<{width}}"
                     f"   connected {human_seconds(c['connected_seconds'])}{where}{busy}")
    running = status.get("running", [])  # daemons before issue 19 do not say
    if running:
        lines.append(_count(len(running), "command") + " running:")
        lines.extend(f"  {r['session']}  {running_line(r)}" for r in running)
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
