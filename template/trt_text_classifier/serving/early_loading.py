"""Start loading the model while the input is read (`LoadModelEarly`)."""

from __future__ import annotations

import logging
import threading

import apache_beam as beam

from trt_text_classifier.errors import one_line
from trt_text_classifier.serving.handler import TextClassificationModelHandler

_LOGGER = logging.getLogger(__name__)


class LoadModelEarly(beam.PTransform):
    """A branch of its own that starts `handler.load_model()` in one SDK process, in a thread.

    In a batch job RunInference's stage begins only once every record has crossed the
    Reshuffle after reading, and only then would its setup load the model: start the
    backend's process, import the runtime, create the session or deserialize the engine,
    with the accelerator idle and the records waiting. This branch has no input, so the
    runner schedules it with the first stages; the load runs beside the reading, and
    RunInference's own `load_model` in that process then finds it done (or waits for it:
    the handler loads under a lock, once per process). With a backend shared across
    processes, the other SDK processes find its server started and the model loaded.

    A load that fails here is logged and left to RunInference, which loads again and fails
    the job with the error as before.
    """

    def __init__(self, handler: TextClassificationModelHandler) -> None:
        super().__init__()
        self._handler = handler

    def expand(self, pipeline: beam.pvalue.PBegin) -> beam.PCollection:
        return pipeline | beam.Impulse() | beam.ParDo(_StartLoading(self._handler))


class _StartLoading(beam.DoFn):
    def __init__(self, handler: TextClassificationModelHandler) -> None:
        self._handler = handler

    def process(self, unused_impulse: bytes) -> list[None]:
        threading.Thread(target=self._load, name="load-model-early", daemon=True).start()
        return []

    def _load(self) -> None:
        try:
            self._handler.load_model()
        except BaseException as error:  # whatever it is, RunInference loads again and reports it
            _LOGGER.info(
                "loading %s early failed (%s); RunInference loads it again",
                self._handler.model_path,
                one_line(error),
            )
