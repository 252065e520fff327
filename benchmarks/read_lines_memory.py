"""Peak memory of reading a large input file with the pipeline's `ReadLines` (DirectRunner).

    python benchmarks/read_lines_memory.py FILE_PATTERN

Runs MatchFiles -> ReadMatches -> ReadLines -> count (the file source of the
pipeline, without the Reshuffle whose in-memory shuffle on the DirectRunner
would measure the local runner, not the reader) and prints the records read,
the wall time and the process's peak RSS. Run it under `/usr/bin/time -v` to
cross-check the RSS.
"""

from __future__ import annotations

import resource
import sys
import time

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from trt_text_classifier.io.text_files import ReadLines
from trt_text_classifier.records import DEAD_LETTERS


def main(pattern: str) -> None:
    started = time.monotonic()
    options = PipelineOptions(["--runner=DirectRunner"])
    pipeline = beam.Pipeline(options=options)
    _ = (
        pipeline
        | fileio.MatchFiles(pattern)
        | fileio.ReadMatches()
        | beam.ParDo(ReadLines()).with_outputs(DEAD_LETTERS, main="records")
    )
    result = pipeline.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_name("records_read"))["counters"]
    records = sum(counter.committed for counter in counters)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records read: {records}")
    print(f"wall time: {time.monotonic() - started:.1f} s")
    print(f"peak RSS: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main(sys.argv[1])
