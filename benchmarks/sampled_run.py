"""`trt-text-classifier ARGS` with a sampling profiler: where a running job's threads spend time.

    python benchmarks/sampled_run.py PROFILE.json run --input_subscription=... ...

cProfile sees only the thread that started it; the DirectRunner works in its own
threads. Here a thread samples every other thread's stack every 10 ms and, when the
job ends or gets SIGTERM, writes PROFILE.json: samples per function (inclusive: the
function was on the stack) and per leaf (exclusive), counting only busy samples (a
thread waiting on a lock, a queue, a socket or a sleep is idle and left out).
"""

from __future__ import annotations

import collections
import json
import signal
import sys
import threading
import time
from pathlib import Path

INTERVAL_SECS = 0.01
IDLE_LEAVES = frozenset(
    {
        "wait",
        "_wait_for_tstate_lock",
        "select",
        "poll",
        "sleep",
        "get",
        "accept",
        "recv",
        "recv_into",
        "_recv",
        "_next",
        "result",
        "_worker",
        "serve_forever",
        "read",
        "readline",
        "_blocking_unary_unary",
        "_blocking",
        "_consume_request_iterator",
    }
)
"""Leaf functions in which a thread is waiting, not working."""


class Sampler:
    def __init__(self, output: Path) -> None:
        self._output = output
        self._inclusive: collections.Counter[str] = collections.Counter()
        self._exclusive: collections.Counter[str] = collections.Counter()
        self._busy = 0
        self._samples = 0
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        me = threading.get_ident()
        while True:
            time.sleep(INTERVAL_SECS)
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    self._record(frame)

    def _record(self, frame) -> None:
        self._samples += 1
        if frame.f_code.co_name in IDLE_LEAVES:
            return
        self._busy += 1
        names = []
        while frame is not None:
            code = frame.f_code
            names.append(f"{short(code.co_filename)}:{code.co_name}")
            frame = frame.f_back
        self._exclusive[names[0]] += 1
        for name in set(names):
            self._inclusive[name] += 1

    def write(self) -> None:
        busy = max(self._busy, 1)
        document = {
            "seconds": round(time.monotonic() - self._started, 1),
            "interval_secs": INTERVAL_SECS,
            "thread_samples": self._samples,
            "busy_samples": self._busy,
            "inclusive_share_of_busy": {
                name: round(count / busy, 4) for name, count in self._inclusive.most_common(60)
            },
            "exclusive_share_of_busy": {
                name: round(count / busy, 4) for name, count in self._exclusive.most_common(40)
            },
            "project_inclusive_seconds": {
                name: round(count * INTERVAL_SECS, 2)
                for name, count in self._inclusive.most_common()
                if name.startswith("trt_text_classifier/")
            },
        }
        self._output.write_text(json.dumps(document, indent=2) + "\n")


def short(filename: str) -> str:
    """site-packages/apache_beam/x/y.py -> apache_beam/x/y.py; the project's files likewise."""
    for marker in ("site-packages/", "template/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main() -> None:
    output = Path(sys.argv[1])
    sampler = Sampler(output)

    def stop(signum: int, frame: object) -> None:
        sampler.write()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    sampler.start()
    from trt_text_classifier import cli

    try:
        cli.main(sys.argv[2:])
    finally:
        sampler.write()


if __name__ == "__main__":
    main()
