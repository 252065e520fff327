"""The graph the pipeline builds for a set of parameters, inspected without running it."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io.gcp.bigquery import WriteToBigQuery
from apache_beam.pipeline import PipelineVisitor

from trt_text_classifier.launch.options import make_pipeline_options
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.pipeline import build_pipeline


class _Collect(PipelineVisitor):
    """The WriteToBigQuery transforms of a graph, and the full label of every transform."""

    def __init__(self) -> None:
        self.writes: list[WriteToBigQuery] = []
        self.labels: set[str] = set()

    def enter_composite_transform(self, node) -> None:
        self.labels.add(node.full_label)
        if isinstance(node.transform, WriteToBigQuery):
            self.writes.append(node.transform)

    def visit_transform(self, node) -> None:
        self.labels.add(node.full_label)


def built_graph(params: PipelineParameters) -> _Collect:
    """The graph `build_pipeline` makes for `params`, built but not run."""
    options = make_pipeline_options(params, ["--temp_location=gs://tc-bucket/tmp"])
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, params)
    collected = _Collect()
    pipeline.visit(collected)
    return collected
