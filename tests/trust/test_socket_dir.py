"""The socket's dir (with the pidfile, start lock and log beside the socket) is the user's alone."""

import os
import subprocess
import sys

from tests.trust.other_user import Witness, as_other, needs_root, victim_file


def omegad(sock, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "omegad", "--foreground", "--socket", str(sock), *args],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def omegacli(sock, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "omegacli", "--socket", str(sock), *args],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


@needs_root
def test_a_socket_dir_of_the_other_user_is_refused(omega_env, shared):
    """`omegad --socket /home/other/dir/omegad.sock`, its omegad.pid and omegad.log symlinks to
    the victim's files: refused by name, the targets untouched (contents and mtimes)."""
    pid_target = victim_file(omega_env.root, "victim-a")
    log_target = victim_file(omega_env.root, "victim-b")
    theirs = shared / "dir"

    def plant() -> None:
        os.mkdir(theirs, 0o755)
        os.symlink(pid_target, theirs / "omegad.pid")
        os.symlink(log_target, theirs / "omegad.log")
        os.symlink(pid_target, theirs / "omegad.lock")

    as_other(plant)
    seen = Witness([pid_target, log_target])
    run = omegad(theirs / "omegad.sock")
    assert run.returncode == 1
    assert f"unsafe or unusable socket directory: {theirs} belongs to uid 65534" in run.stderr
    cli = omegacli(theirs / "omegad.sock", "call", "server.ping")
    assert cli.returncode == 3 and f"{theirs} belongs to uid 65534" in cli.stderr
    seen.assert_untouched()
    assert not (theirs / "omegad.sock").exists()


@needs_root
def test_a_sticky_world_writable_socket_dir_is_refused(omega_env, shared):
    target = victim_file(omega_env.root, "victim")
    as_other(lambda: os.symlink(target, shared / "omegad.pid"))
    seen = Witness([target])
    run = omegad(shared / "omegad.sock")
    assert run.returncode == 1
    assert f"{shared} is writable by other users (mode 1777)" in run.stderr
    seen.assert_untouched()


def test_symlinked_pidfile_log_and_start_lock_are_refused_by_name(omega_env):
    run_dir = omega_env.root / "own"
    run_dir.mkdir(mode=0o700)
    target = victim_file(omega_env.root, "victim")
    seen = Witness([target])
    for name in ("omegad.log", "omegad.pid"):
        (run_dir / name).symlink_to(target)
        run = omegad(run_dir / "omegad.sock")
        assert run.returncode == 1 and f"{run_dir / name} is a symlink" in run.stderr, run.stderr
        (run_dir / name).unlink()
    (run_dir / "omegad.lock").symlink_to(target)
    cli = omegacli(run_dir / "omegad.sock", "call", "server.ping")
    assert cli.returncode == 3 and f"{run_dir / 'omegad.lock'} is a symlink" in cli.stderr
    seen.assert_untouched()
