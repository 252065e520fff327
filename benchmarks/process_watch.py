"""Where a local job's processes spend their time: start, CPU per phase and role, exit.

`ProcessWatch` polls /proc (Linux) every 100 ms for the processes under this one: the
DirectRunner's SDK worker processes, the process serving the shared backend, and this
process, which runs the job service and the runner (every element that crosses a
Reshuffle passes through it). `breakdown` then splits each role's CPU time at the first
and the last model call (before the first batch, steady, after the last batch) and says
when the SDK processes started and exited. With `gpu_throughput.py`'s timestamps it
answers what a whole job's start-up and shutdown are made of: how long the SDK processes
take to start, how much CPU the read stage and the runner use before the first batch, how
long the processes take to exit one after another once the last batch is done.

CPU time a process uses in its last 100 ms before it exits is not seen; exits are placed
at the last sample that saw the process (up to 100 ms early).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
POLL_SECONDS = 0.1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SDK_WORKER = "sdk worker"
BACKEND_SERVER = "backend server"
RUNNER = "runner"
OTHER = "other"


def role_of(command_line: str) -> str:
    """The part a process plays in a local multi-processing job, from its command line."""
    if "sdk_worker_main" in command_line and not command_line.startswith("/bin/sh"):
        return SDK_WORKER
    if "multiprocessing.spawn" in command_line:
        return BACKEND_SERVER  # Beam's MultiProcessShared server (the shared backend)
    return OTHER


@dataclass
class WatchedProcess:
    pid: int
    role: str
    started: float  # monotonic seconds, from the kernel's start time
    last_seen: float
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, CPU seconds)

    def cpu_at(self, moment: float) -> float:
        """CPU seconds used by `moment` (the last sample at or before it)."""
        used = 0.0
        for at, seconds in self.cpu:
            if at > moment:
                break
            used = seconds
        return used

    def cpu_between(self, first: float, last: float) -> float:
        return self.cpu_at(last) - self.cpu_at(first)


class ProcessWatch:
    """Samples the CPU time of this process and every process under it until `stop`."""

    def __init__(self) -> None:
        self._root = os.getpid()
        self._boot_offset = time.monotonic() - time.clock_gettime(time.CLOCK_BOOTTIME)
        self._processes: dict[int, WatchedProcess] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> ProcessWatch:
        self._thread.start()
        return self

    def stop(self) -> dict[int, WatchedProcess]:
        self._stop.set()
        self._thread.join()
        return self._processes

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(POLL_SECONDS)
        self._sample()

    def _sample(self) -> None:
        now = time.monotonic()
        for pid, (started, cpu) in self._tree().items():
            watched = self._processes.get(pid)
            if watched is None:
                role = RUNNER if pid == self._root else role_of(command_line(pid))
                watched = WatchedProcess(pid, role, started, now)
                self._processes[pid] = watched
            watched.last_seen = now
            watched.cpu.append((now, cpu))

    def _tree(self) -> dict[int, tuple[float, float]]:
        """pid -> (start, CPU seconds) of this process and its descendants."""
        stats = {pid: stat for pid in all_pids() if (stat := read_stat(pid)) is not None}
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in stats.items():
            children.setdefault(parent, []).append(pid)
        tree: dict[int, tuple[float, float]] = {}
        pending = [self._root]
        while pending:
            pid = pending.pop()
            if pid in stats:
                _, start_ticks, cpu = stats[pid]
                tree[pid] = (start_ticks / CLOCK_TICKS + self._boot_offset, cpu)
            pending.extend(children.get(pid, []))
        return tree


def all_pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def read_stat(pid: int) -> tuple[int, int, float] | None:
    """(parent pid, start time in clock ticks since boot, user + system CPU seconds)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def breakdown(
    processes: dict[int, WatchedProcess], started: float, first_batch: float, last_batch: float
) -> dict:
    """Per role: how many, when they started (seconds after `started`) and exited (seconds
    after the last batch; not for the runner, this process), and their CPU seconds before
    the first batch, between the first and the last batch, and after it."""
    roles: dict[str, dict] = {}
    for role in (RUNNER, SDK_WORKER, BACKEND_SERVER):
        members = [process for process in processes.values() if process.role == role]
        if not members:
            continue
        roles[role] = {"processes": len(members)}
        if role != RUNNER:  # this process: started before the job, ends after it
            starts = sorted(process.started - started for process in members)
            exits = sorted(process.last_seen - last_batch for process in members)
            roles[role]["started_seconds"] = [round(starts[0], 3), round(starts[-1], 3)]
            roles[role]["exited_seconds_after_last_batch"] = [
                round(exits[0], 3),
                round(exits[-1], 3),
            ]
        roles[role] |= {
            "cpu_seconds_before_first_batch": round(
                sum(process.cpu_between(started, first_batch) for process in members), 2
            ),
            "cpu_seconds_steady": round(
                sum(process.cpu_between(first_batch, last_batch) for process in members), 2
            ),
            "cpu_seconds_after_last_batch": round(
                sum(process.cpu_between(last_batch, float("inf")) for process in members), 2
            ),
        }
    return roles
