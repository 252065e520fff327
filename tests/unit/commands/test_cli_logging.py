"""`validate` and `launch` hide the libraries' log lines only while they run."""

from __future__ import annotations

import logging

import pytest

from trt_text_classifier import cli
from trt_text_classifier.commands.validate import quiet_unless_verbose
from trt_text_classifier.launch.template_parameters import gcloud_parameters_flag

VALID = {
    "input": "gs://my-bucket/reviews/*.txt",
    "output": "gs://my-bucket/results/predictions",
    "onnx_path": "gs://my-bucket/models/sst2/model.onnx",
}
LOGGER = logging.getLogger("tests.cli_logging")


def warning_is_recorded(caplog: pytest.LogCaptureFixture) -> bool:
    caplog.clear()
    LOGGER.warning("still logging")
    return [record.getMessage() for record in caplog.records] == ["still logging"]


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "--no-io", "--parameters", gcloud_parameters_flag(VALID)],
        ["validate", "--no-io", "--parameters", "input=not-a-gcs-path"],
        [
            "launch",
            "--project=p",
            "--region=us-central1",
            "--job-name=j",
            "--template=gs://my-bucket/templates/trt.json",
            "--dry-run",
            "--no-io",
            "--parameters",
            gcloud_parameters_flag(VALID),
        ],
    ],
    ids=["validate", "validate-refused", "launch-dry-run"],
)
def test_logging_works_again_after_the_command_returns(
    command: list[str], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER.name)
    assert warning_is_recorded(caplog)
    cli.main(command)
    capsys.readouterr()
    assert logging.root.manager.disable == logging.NOTSET
    assert warning_is_recorded(caplog)


def test_quiet_hides_warnings_inside_and_restores_the_previous_level_even_on_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER.name)
    logging.disable(logging.DEBUG)
    try:
        with pytest.raises(RuntimeError), quiet_unless_verbose(verbose=False):
            caplog.clear()
            LOGGER.warning("hidden")
            assert caplog.records == []
            raise RuntimeError("the command failed")
        assert logging.root.manager.disable == logging.DEBUG
    finally:
        logging.disable(logging.NOTSET)


def test_verbose_leaves_logging_alone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER.name)
    with quiet_unless_verbose(verbose=True):
        assert warning_is_recorded(caplog)
    assert logging.root.manager.disable == logging.NOTSET
