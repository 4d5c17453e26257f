"""Child processes that end with their parent: no server of ours outlives the command."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from types import FrameType

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux; elsewhere a no-op)."""
    with suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_process_group(
    command: Sequence[str], env: Mapping[str, str], stop_seconds: float = 5.0
) -> int:
    """Run ``command`` in its own process group until it exits or this process gets SIGINT
    or SIGTERM; then stop the whole group (the command's workers too), SIGKILL after
    ``stop_seconds``. Returns the command's exit code.

    Servers such as ``mlflow ui`` fork workers that a signal to the server alone leaves
    running; signalling the group reaches every one of them.
    """
    child = subprocess.Popen(
        command, env=dict(env), start_new_session=True, preexec_fn=die_with_parent
    )

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while child.poll() is None and not stopping.wait(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_group(child, stop_seconds)
    return child.returncode


def stop_group(leader: subprocess.Popen, stop_seconds: float) -> None:
    """SIGTERM a process group, wait until every member left, SIGKILL what remains."""
    with suppress(ProcessLookupError):
        os.killpg(leader.pid, signal.SIGTERM)
    deadline = time.monotonic() + stop_seconds
    while time.monotonic() < deadline:
        leader.poll()  # reap the leader, so that an exited group is empty
        try:
            os.killpg(leader.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.killpg(leader.pid, signal.SIGKILL)
    leader.wait()
