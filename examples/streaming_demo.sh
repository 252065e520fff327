#!/usr/bin/env bash
# Streaming on this machine, in one command: starts the Pub/Sub emulator, creates the topics and
# subscriptions, runs the streaming pipeline on the demo model, publishes a few messages (one of
# them malformed), prints the answers from the prediction and dead-letter topics, then stops
# everything. Run from the repository root after the Quickstart's first command:
#   examples/streaming_demo.sh
# Needs the Google Cloud SDK with the pubsub-emulator and beta components and Java 17 on the
# PATH, and google-cloud-pubsub in .venv (the dev extra). Takes about a minute.
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
PORT=${PUBSUB_PORT:-8085}
PROJECT=streaming-demo
WORK=out/streaming-demo
mkdir -p "$WORK"
export PUBSUB_EMULATOR_HOST=localhost:$PORT PUBSUB_PROJECT_ID=$PROJECT
# No credentials are needed: tell the Google libraries not to look for them for half a minute.
export NO_GCE_CHECK=true GCE_METADATA_HOST=127.0.0.1:1 GCE_METADATA_IP=127.0.0.1:1

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

[ -f "$WORK/model/model.onnx" ] || "$PYTHON" -m trt_text_classifier demo-model --output "$WORK/model"

echo "starting the Pub/Sub emulator on $PUBSUB_EMULATOR_HOST (log: $WORK/emulator.log)"
CLOUDSDK_CONFIG=$(mktemp -d) setsid gcloud beta emulators pubsub start \
  --host-port="$PUBSUB_EMULATOR_HOST" --project="$PROJECT" >"$WORK/emulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  curl -sf "http://$PUBSUB_EMULATOR_HOST" >/dev/null 2>&1 && break
  sleep 1
done

"$PYTHON" - <<PY
from google.cloud import pubsub_v1
publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
for name in ("reviews", "predictions", "dead-letters"):
    topic = publisher.topic_path("$PROJECT", name)
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscriber.subscription_path("$PROJECT", name), topic=topic)
print("created topics and subscriptions: reviews, predictions, dead-letters")
PY

echo "starting the streaming pipeline (log: $WORK/pipeline.log)"
setsid "$PYTHON" -m trt_text_classifier run \
  --input_subscription=projects/$PROJECT/subscriptions/reviews \
  --output_topic=projects/$PROJECT/topics/predictions \
  --dead_letter_topic=projects/$PROJECT/topics/dead-letters \
  --onnx_path="$WORK/model/model.onnx" >"$WORK/pipeline.log" 2>&1 &
pids+=($!)

"$PYTHON" - <<PY
import json, time
from google.cloud import pubsub_v1
publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
messages = [
    b"A warm and funny film with a wonderful cast.",
    b"The plot is dull and the acting is worse.",
    json.dumps({"id": "r-3", "text": "Not bad at all.", "customer": "c-7"}).encode(),
    b'{"id": "r-4", "stars": 2}',  # no text: a dead letter
]
topic = publisher.topic_path("$PROJECT", "reviews")
for data in messages:
    publisher.publish(topic, data, tenant="demo").result()
print(f"published {len(messages)} messages; waiting for the answers (the first takes a while)")
answers, deadline = 0, time.monotonic() + 240
while answers < len(messages) and time.monotonic() < deadline:
    for name in ("predictions", "dead-letters"):
        path = subscriber.subscription_path("$PROJECT", name)
        response = subscriber.pull(subscription=path, max_messages=10, timeout=5, return_immediately=True)
        if response.received_messages:
            subscriber.acknowledge(subscription=path, ack_ids=[m.ack_id for m in response.received_messages])
        for received in response.received_messages:
            answers += 1
            print(f"{name}: {received.message.data.decode()}")
    time.sleep(1)
if answers < len(messages):
    raise SystemExit(f"only {answers} of {len(messages)} answers arrived; see $WORK/pipeline.log")
print("all messages answered; stopping the pipeline and the emulator")
PY
