"""Issue 21, "Rough edges": what each command says in the small cases it used to leave unsaid."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from support.repository import REPOSITORY
from trt_text_classifier.commands import build_engine, demo_model, doctor, export, metadata, run
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.console_form import JobMode
from trt_text_classifier.launch.metadata import TEMPLATES
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.template_parameters import parse_parameters_file


def test_doctor_says_it_runs_outside_the_image_and_what_missing_means(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(doctor.PY_FILE_ENV, raising=False)
    assert doctor.main([]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("not inside the project's image")
    assert "MISSING for them is expected here" in first


def test_doctor_says_it_runs_inside_the_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.os, "access", lambda *_: True)
    monkeypatch.setenv(doctor.PY_FILE_ENV, "/opt/trt-text-classifier/template/main.py")
    assert doctor.inside_image()
    assert doctor.where_running(True).startswith("inside the project's image")


def test_run_help_shows_defaults_and_how_to_list_beam_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Default: 128." in out  # max_seq_length
    assert "Default: text." in out  # input_format, an enum, shown by its value
    assert "--runner=DataflowRunner" in out
    assert "trt-text-classifier run --help-beam" in out
    assert run.main(["--help-beam"]) == 0
    beam = capsys.readouterr().out
    for option in ("--runner", "--project", "--region", "--temp_location"):
        assert f"\n  {option} " in beam


def test_a_missing_builder_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from trt_text_classifier.model_tooling import engine_build

    def no_module(name: str) -> None:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(engine_build.importlib, "import_module", no_module)
    with pytest.raises(engine_build.EngineBuildError) as refused:
        engine_build.BuilderLibrary("tensorrt-rtx")
    assert "pip install 'trt-text-classifier[tensorrt-rtx]'" in str(refused.value)


def test_demo_model_prints_a_clean_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trt_text_classifier.model_tooling import demo_model as tooling

    monkeypatch.setattr(tooling, "build_demo_model", lambda _: SimpleNamespace(describe=str))
    assert demo_model.main(["--output", "demo/"]) == 0
    assert "wrote the demo model to demo/model.onnx\n" in capsys.readouterr().out


def test_build_engine_names_the_tokenizer_folder_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trt_text_classifier.model_tooling import engine_build

    engine = tmp_path / "sst2.plan"
    engine.write_bytes(b"engine")
    profile = SimpleNamespace(as_flag=lambda: "1,8,16")
    sidecar = SimpleNamespace(
        builder="tensorrt-rtx",
        builder_version="1.0",
        precision="fp16",
        compute_capabilities=("7.5",),
        batch=profile,
        sequence=profile,
        build_seconds=1.0,
        tokenizer_location=lambda path: f"{path}.tokenizer",
    )
    monkeypatch.setattr(engine_build, "build_engine", lambda _: sidecar)
    monkeypatch.setattr(build_engine, "make_request", lambda _: None)
    args = argparse.Namespace(output=str(engine), timing_cache=None, verify=None, engine_cache=None)
    assert build_engine._build(args) == 0
    assert f"tokenizer: {engine}.tokenizer" in capsys.readouterr().out.splitlines()


def test_metadata_check_says_so_when_the_file_matches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert metadata.main(["--check", str(REPOSITORY / "metadata.json")]) == 0
    out = capsys.readouterr().out
    assert out == f"{REPOSITORY / 'metadata.json'} matches the parameter model\n"


@pytest.mark.parametrize(
    ("values", "form"),
    [
        (
            {"input_subscription": "projects/my-project/subscriptions/sub", "output_topic": "t"},
            "expected projects/PROJECT/topics/NAME, e.g. ",
        ),
        ({"input_subscription": "reviews"}, "expected projects/PROJECT/subscriptions/NAME, e.g. "),
    ],
)
def test_a_refused_pubsub_path_says_what_form_it_wants(values: dict[str, str], form: str) -> None:
    with pytest.raises(ParameterError) as refused:
        PipelineParameters.from_strings({"onnx_path": "gs://b/model.onnx", **values})
    assert form in str(refused.value)


def test_parameters_file_accepts_numbers_as_strings() -> None:
    text = json.dumps({"max_batch_size": 64, "batch_wait_secs": 0.5, "input": "gs://b/x.txt"})
    assert parse_parameters_file(text, "p.json") == {
        "max_batch_size": "64",
        "batch_wait_secs": "0.5",
        "input": "gs://b/x.txt",
    }
    with pytest.raises(ParameterError, match="strings \\(or numbers\\)"):
        parse_parameters_file('{"streaming": true}', "p.json")


def test_benchmark_run_has_help_and_does_not_overwrite_committed_results(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPOSITORY / "benchmarks"))
    spec = importlib.util.spec_from_file_location("benchmark_run", REPOSITORY / "benchmarks/run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args([])
    assert Path(args.output) == REPOSITORY / "out" / "benchmarks"
    assert Path(args.output) != module.RESULTS
    with pytest.raises(SystemExit):
        module.parse_args(["--help"])
    assert "--output benchmarks/results" in capsys.readouterr().out


def test_streaming_template_description_names_its_file_outputs() -> None:
    description = TEMPLATES[JobMode.STREAMING].description
    assert "windowed JSON Lines files" in description
    assert "dead-letter files" in description


@pytest.mark.parametrize(
    "path", [".venv/bin/python", "out/x", "demo-model/model.onnx", "sst2.plan", "a/b.plan.json"]
)
def test_local_environments_and_models_are_ignored(path: str) -> None:
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=REPOSITORY, check=False
    )
    assert checked.returncode == 0, path


def test_gcloudignore_keeps_what_the_container_build_needs() -> None:
    lines = (REPOSITORY / ".gcloudignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert "#!include:.gitignore" in lines
    needed = ("container", "template", "setup.py", "pyproject.toml", "metadata.json")
    assert not [p for p in patterns if p.strip("/").split("/")[0] in needed]
    kept = subprocess.run(
        [
            "git",
            "check-ignore",
            "--no-index",
            "-q",
            "template/trt_text_classifier/model_tooling/demo/corpus.txt",
        ],
        cwd=REPOSITORY,
        check=False,
    )
    assert kept.returncode == 1


def test_export_without_the_hub_fails_fast_and_suggests_a_local_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trt_text_classifier.model_tooling import export as tooling

    calls: list[bool] = []

    def not_cached(*_: object, local_files_only: bool, **__: object) -> None:
        calls.append(local_files_only)
        raise OSError("not in the cache")

    monkeypatch.setattr(export, "hub_unreachable", lambda: "no network")
    monkeypatch.setattr(tooling, "export_bundle", not_cached)
    args = argparse.Namespace(
        model="textattack/bert-base-uncased-SST-2",
        output=str(tmp_path),
        tolerance=1e-3,
        overwrite=False,
    )
    assert export._export(args) == 1
    assert calls == [True]
    err = capsys.readouterr().err
    assert "a local save_pretrained directory works offline" in err


def test_hub_offline_setting_counts_as_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert export.hub_unreachable() == "HF_HUB_OFFLINE is set"
