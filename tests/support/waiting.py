"""Waiting on a condition with a deadline, never a bare sleep: a broken process makes a test fail, not hang."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], *, seconds: float = 60, interval: float = 0.1) -> bool:
    """Poll `condition` until it is truthy or `seconds` pass; its last answer decides.

    The default is generous: on a loaded CI machine a worker takes seconds to start and run a task, and a deadline
    only costs time when something is broken."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
