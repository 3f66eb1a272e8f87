"""Percentiles, process lookups and the machine line that the control-plane benchmarks print."""

from __future__ import annotations

import math
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of ``values`` (``fraction`` 0.5 is the median, 0.99 the p99)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def milliseconds(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def distribution(values: Sequence[float]) -> str:
    """Return ``median X, p99 Y (n=N)`` in milliseconds."""
    median, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return f"median {milliseconds(median)}, p99 {milliseconds(p99)} (n={len(values)})"


def machine_line() -> str:
    """Describe the machine: usable cores, Python, OS, and the 1-minute load average at the time of the call."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return (
        f"machine: {cores} cores, Python {platform.python_version()} ({sys.executable}), "
        f"{platform.system()} {platform.release()}, load average {load:.2f}"
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (another process may still take it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], object], timeout: float, description: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until it is truthy; raise ``TimeoutError`` naming ``description`` on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {description}")
        time.sleep(interval)


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
