"""Streaming latency: publish -> result message, at steady rates, on the Pub/Sub emulator.

    python benchmarks/streaming_latency.py                       # 10, 20 and 50 msg/s, 25 s each
    python benchmarks/streaming_latency.py --rates 100 --seconds 10 --profile

Starts the Pub/Sub emulator (gcloud, Java) and the streaming job (`trt-text-classifier
run --input_subscription ...`, DirectRunner, demo model, default max_batch_duration_secs)
in their own processes. For each rate: publishes JSON messages (1% malformed: those must
come back as dead letters) at that steady rate for --seconds, receives the predictions
and dead letters by streaming pull, and measures each message's latency from the
publish call to its arrival on the output subscription. Checks that every message came
back exactly once. With --profile the job runs under `sampled_run.py` (a sampling
profiler over all its threads). Writes streaming-latency.json (a list of runs),
streaming-latency.png (the latency distributions) and, with --profile,
streaming-profile.json under --output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent
TEMPLATE = BENCHMARKS.parent / "template"
sys.path[1:1] = [str(TEMPLATE)]

import report  # noqa: E402
import workloads  # noqa: E402

RESULTS = BENCHMARKS / "results"
PROJECT = "benchmark-project"
MALFORMED_EVERY = 100
OFFLINE = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:1",
    "GCE_METADATA_IP": "127.0.0.1:1",
    "GOOGLE_CLOUD_PROJECT": PROJECT,
}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="streaming-latency-"))
    bundle = workloads.demo_workload(work, 0).onnx_path
    os.environ.update(OFFLINE)
    emulator = start_emulator(work)
    runs = []
    try:
        for rate in args.rates:
            runs.append(measure_rate(rate, args, bundle, work, output))
            print(json.dumps({k: v for k, v in runs[-1].items() if k != "latencies_ms"}))
            write(output, runs)
    finally:
        stop_group(emulator)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates", type=lambda t: [int(r) for r in t.split(",")], default=[10, 20, 50]
    )
    parser.add_argument("--seconds", type=float, default=25.0, help="publishing time per rate")
    parser.add_argument("--profile", action="store_true", help="sample the job's threads")
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args(argv)


def start_emulator(work: Path) -> subprocess.Popen:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        sys.exit("gcloud is not installed; the Pub/Sub emulator needs the Google Cloud SDK")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"127.0.0.1:{port}"
    config = work / "gcloud"
    config.mkdir()
    process = subprocess.Popen(
        [gcloud, "beta", "emulators", "pubsub", "start", f"--host-port={host}"],
        env={**os.environ, "CLOUDSDK_CONFIG": str(config), "CLOUDSDK_CORE_PROJECT": PROJECT},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}/", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the Pub/Sub emulator did not start") from None
            time.sleep(0.3)
    os.environ["PUBSUB_EMULATOR_HOST"] = host
    return process


def stop_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=15)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def create_topics(name: str) -> dict[str, str]:
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    paths = {}
    with pubsub_v1.SubscriberClient() as subscriber:
        for role in ("in", "out", "dead"):
            topic = f"projects/{PROJECT}/topics/{name}-{role}"
            publisher.create_topic(name=topic)
            subscription = f"projects/{PROJECT}/subscriptions/{name}-{role}"
            subscriber.create_subscription(name=subscription, topic=topic)
            paths[role], paths[f"{role}_subscription"] = topic, subscription
    return paths


class Receiver:
    """Streaming pull on the result subscriptions; arrival time by record id."""

    def __init__(self, subscriptions: dict[str, str]) -> None:
        from google.cloud import pubsub_v1

        self.arrivals: dict[str, list[float]] = {}
        self.kinds: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._subscriber = pubsub_v1.SubscriberClient()
        self._futures = [
            self._subscriber.subscribe(subscription, partial(self._receive, kind))
            for kind, subscription in subscriptions.items()
        ]

    def _receive(self, kind: str, message) -> None:
        arrived = time.time()
        record_id = message.attributes.get("id", "")
        message.ack()
        with self._lock:
            self.arrivals.setdefault(record_id, []).append(arrived)
            self.kinds.setdefault(kind, set()).add(record_id)

    def count(self) -> int:
        with self._lock:
            return sum(map(len, self.arrivals.values()))

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._subscriber.close()


def measure_rate(
    rate: int, args: argparse.Namespace, bundle: Path, work: Path, output: Path
) -> dict:
    from google.cloud import pubsub_v1

    name = f"rate{rate}-{int(time.time())}"
    paths = create_topics(name)
    job = start_job(paths, bundle, work / f"{name}.log", output if args.profile else None, rate)
    receiver = Receiver(
        {"answered": paths["out_subscription"], "dead_lettered": paths["dead_subscription"]}
    )
    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_latency=0.001, max_messages=100)
    )
    try:
        warm_up(publisher, paths["in"], receiver, job)
        sentences = workloads.generate_sentences(int(rate * args.seconds), seed=rate)
        sent = publish_steadily(publisher, paths["in"], sentences, rate)
        deadline = time.monotonic() + 60
        while receiver.count() < len(sent) + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
    finally:
        stop_job(job)
        receiver.close()
    arrivals = {key: value for key, value in receiver.arrivals.items() if key != "warm-up"}
    latencies = [(arrivals[key][0] - at) * 1e3 for key, at in sent.items() if key in arrivals]
    answered = receiver.kinds.get("answered", set()) & sent.keys()
    dead = receiver.kinds.get("dead_lettered", set()) & sent.keys()
    malformed = {key for key in sent if key.startswith("bad-")}
    duplicates = sum(len(times) - 1 for times in arrivals.values())
    return {
        "rate": rate,
        "max_batch_duration_secs": 1.0,
        "messages": len(sent),
        "malformed": len(malformed),
        "answered": len(answered),
        "dead_lettered": len(dead),
        "duplicates": duplicates,
        "exactly_once": not (answered & dead)
        and len(answered | dead) == len(sent)
        and duplicates == 0
        and dead == malformed,
        "received": len(latencies),
        "not_received_when_stopped": len(sent) - len(latencies),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "latencies_ms": [round(value, 1) for value in latencies],
    }


def start_job(
    paths: dict[str, str], bundle: Path, log: Path, profile_to: Path | None, rate: int
) -> subprocess.Popen:
    arguments = [
        "run",
        f"--input_subscription={paths['in_subscription']}",
        f"--output_topic={paths['out']}",
        f"--dead_letter_topic={paths['dead']}",
        f"--onnx_path={bundle}",
    ]
    if profile_to is not None:
        command = [
            sys.executable,
            str(BENCHMARKS / "sampled_run.py"),
            str(profile_to / f"streaming-profile-{rate}.json"),
            *arguments,
        ]
    else:
        command = [sys.executable, "-m", "trt_text_classifier", *arguments]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TEMPLATE), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        command,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_job(job: subprocess.Popen) -> None:
    job.send_signal(signal.SIGTERM)
    try:
        job.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stop_group(job)


def warm_up(publisher, topic: str, receiver: Receiver, job: subprocess.Popen) -> None:
    """One message until it comes back: the job has started and loaded its model."""
    payload = json.dumps({"id": "warm-up", "text": "a warm and funny film"}).encode()
    deadline = time.monotonic() + 180
    publisher.publish(topic, payload).result()
    while "warm-up" not in receiver.arrivals:
        if job.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the streaming job did not answer the warm-up message")
        time.sleep(0.2)


def publish_steadily(publisher, topic: str, sentences: list[str], rate: int) -> dict[str, float]:
    """Publish at `rate` messages/s; every MALFORMED_EVERY-th is not valid JSON."""
    sent: dict[str, float] = {}
    futures = []
    started = time.monotonic()
    for index, text in enumerate(sentences):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if index % MALFORMED_EVERY == MALFORMED_EVERY - 1:
            record_id, payload = f"bad-{index}", b'{"id": "x", "text": '
        else:
            record_id = f"m-{index}"
            payload = json.dumps({"id": record_id, "text": text}).encode()
        sent[record_id] = time.time()
        futures.append(publisher.publish(topic, payload, id=record_id))
    for future in futures:
        future.result()
    return sent


def write(output: Path, runs: list[dict]) -> None:
    host = report.machine()
    document = [
        {
            **{key: value for key, value in run.items() if key != "latencies_ms"},
            "machine": host["cpu"],
            "date": host["date"],
            "runner": "DirectRunner",
            "model": "demo",
        }
        for run in runs
    ]
    (output / "streaming-latency.json").write_text(json.dumps(document, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for run in runs:
        values = np.sort(np.array(run["latencies_ms"]))
        if len(values):
            fraction = np.arange(1, len(values) + 1) / len(values)
            label = f"{run['rate']} msg/s: p50 {run['p50_ms']:.0f} ms, p99 {run['p99_ms']:.0f} ms"
            axes.plot(values, fraction, label=label)
    axes.axvline(1250, color="gray", linestyle=":", label="batch wait 1 s + 250 ms")
    axes.set_xscale("log")
    axes.set_xlabel("publish -> result message (ms)")
    axes.set_ylabel("fraction of messages")
    axes.set_title(f"Streaming latency, DirectRunner, demo model\n{host['cpu']}", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(output / "streaming-latency.png", dpi=120)


if __name__ == "__main__":
    sys.exit(main())
