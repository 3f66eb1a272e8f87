"""Pod processes that outlive the job runner, and how a restarted runner finds them again.

Each pod's command runs under a small Python wrapper in its own session. The wrapper records its
process id and start time in the pod's sandbox folder before it starts the command, and the
command's exit status when it ends. A runner that was killed and started again is no longer the
parent of that process, so it cannot ``wait()`` for it. It checks instead that the recorded process
still exists, where the start time guards against a reused process id. Then it polls until the
process is gone and reads the exit status from the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

PROCESS_FILE = "process"  # "<pid> <start time in clock ticks since boot>"
EXIT_CODE_FILE = "exit-code"  # the command's return code as subprocess reports it: -N for signal N
POLL_SECONDS = 0.1

# The wrapper ignores SIGTERM and SIGINT, because the kubelet-style stop signals the whole process
# group: the command gets the signal, and the wrapper stays to record how the command ended. A
# handler, unlike SIG_IGN, is reset by exec, so the command still receives both signals.
_WRAPPER = """\
import os, signal, subprocess, sys
for number in (signal.SIGTERM, signal.SIGINT):
    signal.signal(number, lambda *_: None)
folder = sys.argv[1]
with open("/proc/self/stat") as handle:
    stat = handle.read()
with open(os.path.join(folder, "process"), "w") as handle:
    handle.write(f"{os.getpid()} {stat[stat.rindex(')') + 2:].split()[19]}")
code = subprocess.call(sys.argv[2:])
with open(os.path.join(folder, "exit-code.tmp"), "w") as handle:
    handle.write(str(code))
os.replace(os.path.join(folder, "exit-code.tmp"), os.path.join(folder, "exit-code"))
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass(frozen=True)
class ProcessIdentity:
    """A process id with the process's start time, which together name one process even after pid reuse."""

    pid: int
    start_ticks: int


def wrapped_argv(folder: Path, argv: list[str]) -> list[str]:
    """Return the command line that runs ``argv`` under the wrapper, which records into ``folder``."""
    return [sys.executable, "-c", _WRAPPER, str(folder), *argv]


def start_ticks(pid: int) -> int | None:
    """Return the start time of ``pid`` in clock ticks since boot (field 22 of /proc/<pid>/stat), or None.

    A zombie counts as gone: it has ended and only waits for its parent to collect it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def identity_of(pid: int) -> ProcessIdentity | None:
    ticks = start_ticks(pid)
    return None if ticks is None else ProcessIdentity(pid, ticks)


def is_running(identity: ProcessIdentity) -> bool:
    return start_ticks(identity.pid) == identity.start_ticks


def recorded_identity(folder: Path) -> ProcessIdentity | None:
    """Return the wrapper process recorded in ``folder``, or None if it never got to record itself."""
    try:
        pid_text, _, ticks_text = (folder / PROCESS_FILE).read_text().partition(" ")
        return ProcessIdentity(int(pid_text), int(ticks_text))
    except (OSError, ValueError):
        return None


def recorded_exit_code(folder: Path) -> int | None:
    """Return the command's return code (-N when signal N ended it), or None if the wrapper did not record one."""
    try:
        return int((folder / EXIT_CODE_FILE).read_text())
    except (OSError, ValueError):
        return None


class AdoptedProcess:
    """A pod process that an earlier runner started: this runner polls for its end instead of waiting on it."""

    def __init__(self, identity: ProcessIdentity, folder: Path) -> None:
        self.pid = identity.pid
        self.identity = identity
        self.folder = folder
        self.returncode: int | None = None

    async def wait(self) -> int:
        """Wait until the process is gone; return its recorded code, or -9 when it left none (killed)."""
        while is_running(self.identity):
            await asyncio.sleep(POLL_SECONDS)
        recorded = recorded_exit_code(self.folder)
        self.returncode = recorded if recorded is not None else -9
        return self.returncode


def kill_group(pid: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal_number)
