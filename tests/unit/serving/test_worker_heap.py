"""`freeze_worker_heap`: once, and only in a Beam SDK worker process.

The real SDK workers are checked by tests/pipeline/test_worker_imports.py; here, the
processes that must keep their garbage collection (this test process, which runs
pipelines one after another) and the once-only rule.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from support.repository import TEMPLATE
from trt_text_classifier.serving.handler import TextClassificationModelHandler
from trt_text_classifier.serving.worker_heap import freeze_worker_heap, is_sdk_worker_process


def test_a_process_that_is_not_an_sdk_worker_loads_models_without_freezing(demo_onnx: str) -> None:
    TextClassificationModelHandler(demo_onnx).load_model()

    assert not is_sdk_worker_process()
    assert freeze_worker_heap() is False
    assert gc.get_freeze_count() == 0


def test_an_sdk_worker_freezes_its_heap_once() -> None:
    program = textwrap.dedent(
        """
        import gc, importlib.machinery, sys
        from trt_text_classifier.serving.worker_heap import SDK_WORKER_MAIN, freeze_worker_heap
        sys.modules["__main__"].__spec__ = importlib.machinery.ModuleSpec(SDK_WORKER_MAIN, None)
        first = freeze_worker_heap()
        frozen = gc.get_freeze_count()
        print(first, freeze_worker_heap(), frozen > 1000, gc.get_freeze_count() == frozen)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", program],
        env={"PYTHONPATH": str(TEMPLATE)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert completed.stdout.split() == ["True", "False", "True", "True"]
