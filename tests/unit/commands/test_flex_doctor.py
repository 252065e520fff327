"""`doctor`: the in-image self-check Cloud Build runs (here: a machine that is not the image)."""

from __future__ import annotations

import platform
from importlib.metadata import version

import pytest

from trt_text_classifier.commands import doctor


def test_report_lists_versions_and_missing_image_parts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(doctor.PY_FILE_ENV, raising=False)
    assert doctor.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"ok      {'python':<30}{platform.python_version()}" in lines
    assert f"ok      {'apache-beam':<30}{version('apache-beam')}" in lines
    assert f"MISSING {'beam boot':<30}{doctor.BOOT}" in lines
    assert f"MISSING {'template launcher':<30}{doctor.LAUNCHER}" in lines
    assert f"MISSING {doctor.PY_FILE_ENV:<30}(unset)" in lines


def test_image_mode_fails_when_a_part_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main(["--image"]) == 1


def test_image_mode_passes_when_every_part_is_present(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    present = [doctor.Finding("tensorrt", "10.13.3", True), doctor.Finding("gpu", "none", True)]
    monkeypatch.setattr(doctor, "collect", lambda image=False: present)
    assert doctor.main(["--image"]) == 0
