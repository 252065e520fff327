"""Launch refusals: a command that cannot run exits 2 with one `error: ...` line naming the problem.

One table of the cases that check only that: the arguments, how the message is
matched and its text. Each case runs `trt_text_classifier.cli.main` in this
process. In arguments and messages `{tmp}` is the test's tmp_path, `{onnx}` the
demo model, `{bundle}` its directory, `{engine_fp16}` the fp16 demo engine,
`{short}` a demo model whose manifest declares 64 tokens, `{broken}` the folder
of broken bundles and files (tests/unit/conftest.py), `{examples}` examples/.

Refusals that also check something else (nothing written, files kept, no
traceback in a real process, the emulators) stay with their subject.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.repository import EXAMPLES, REPOSITORY
from trt_text_classifier.cli import main


@pytest.fixture(scope="module")
def short_model(demo_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo bundle with a manifest that declares a 64-token limit."""
    directory = tmp_path_factory.mktemp("short-model")
    shutil.copytree(demo_bundle, directory, dirs_exist_ok=True)
    manifest = json.loads((directory / "bundle.json").read_text())
    manifest["max_sequence_length"] = 64
    (directory / "bundle.json").write_text(json.dumps(manifest))
    return str(directory / "model.onnx")


PLACEHOLDERS: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "tmp": lambda request: str(request.getfixturevalue("tmp_path")),
    "onnx": lambda request: request.getfixturevalue("demo_onnx"),
    "bundle": lambda request: str(request.getfixturevalue("demo_bundle")),
    "engine_fp16": lambda request: str(request.getfixturevalue("demo_engines")["fp16"]),
    "short": lambda request: request.getfixturevalue("short_model"),
    "broken": lambda request: str(request.getfixturevalue("broken")),
    "examples": lambda request: str(EXAMPLES),
}


class Placeholders(dict):
    """The values `str.format_map` asks for, each fixture requested only when a case names it."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        super().__init__()
        self.request = request

    def __missing__(self, name: str) -> str:
        self[name] = PLACEHOLDERS[name](self.request)
        return self[name]


def write_two_reviews_and_a_file_where_the_output_goes(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("good film\nbad film\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("a file where the output directory should be")


def write_one_review(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("A warm and funny film.\n", encoding="utf-8")


def write_a_file_where_the_output_goes(tmp_path: Path) -> None:
    (tmp_path / "file-not-dir").write_text("x")


def write_an_unreadable_input(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden\n")
    secret.chmod(0)


@dataclass(frozen=True)
class Refusal:
    """`main(args)` returns 2 and stderr is one `error: ...` line that `match`es `message`."""

    args: tuple[str, ...]
    message: str
    match: str = "startswith"  # or "equals", "contains"
    setup: Callable[[Path], None] | None = None
    in_repository: bool = False  # relative paths (examples/*.txt) from the repository root


RUN = ("run", "--input={examples}/reviews-1.txt")
RUN_DEMO = (*RUN, "--output={tmp}/p", "--onnx_path={onnx}")
RUN_BROKEN = (*RUN, "--output={tmp}/out/p")
RUN_ENGINE_FP16 = (*RUN, "--output={tmp}/out/predictions", "--engine_path={engine_fp16}")
NOT_ONNX = "is not a valid ONNX model"

REFUSALS = [
    # cli: the command and the model parameters (from unit/test_cli.py)
    pytest.param(
        Refusal(
            ("run", "--input=examples/*.txt", "--output=o"),
            "error: --onnx_path / --engine_path: give exactly one model (neither was given)",
            in_repository=True,
        ),
        id="run-without-a-model",
    ),
    pytest.param(
        Refusal(
            (
                "run",
                "--input=examples/*.txt",
                "--output=o",
                "--onnx_path=m.onnx",
                "--engine_path=e.plan",
            ),
            "error: --onnx_path / --engine_path: give exactly one model (both were given)",
            in_repository=True,
        ),
        id="run-with-two-models",
    ),
    pytest.param(
        Refusal(
            ("run", "--input=no-such-dir/*.txt", "--output=o", "--onnx_path={onnx}"),
            "error: --input='no-such-dir/*.txt': matches no file; check the path and the wildcard",
            in_repository=True,
        ),
        id="input-in-a-missing-folder",
    ),
    pytest.param(
        Refusal(
            ("run", "--input=examples/*.txt", "--output=o", "--onnx_path=no/model.onnx"),
            "error: --onnx_path='no/model.onnx': no such file; give a model.onnx written by",
            in_repository=True,
        ),
        id="onnx-path-missing",
    ),
    pytest.param(
        Refusal(
            (
                "run",
                "--input=examples/*.txt",
                "--output=o",
                "--onnx_path={onnx}",
                "--max_seq_length=0",
            ),
            "error: --max_seq_length='0': Input should be greater than or equal to 3",
            in_repository=True,
        ),
        id="max-seq-length-zero",
    ),
    pytest.param(
        Refusal(
            (
                "run",
                "--input=examples/*.txt",
                "--output=o",
                "--onnx_path={short}",
                "--max_seq_length=128",
            ),
            "error: --max_seq_length=128: above the model's limit of 64 tokens; use at most 64",
            in_repository=True,
        ),
        id="max-seq-length-above-the-model",
    ),
    pytest.param(
        Refusal(
            (
                "run",
                "--input=examples/*.txt",
                "--output=o",
                "--onnx_path={onnx}",
                "--min_batch_size=10",
                "--max_batch_size=5",
            ),
            "error: --min_batch_size=10 is larger than --max_batch_size=5",
            in_repository=True,
        ),
        id="min-batch-above-max-batch",
    ),
    # engines: requests above the engine's profile (from unit/serving/test_engine_serving.py)
    pytest.param(
        Refusal(
            (*RUN_ENGINE_FP16, "--max_seq_length=128"),
            "error: --max_seq_length=128: above the engine profile's limit of 64 tokens; "
            "use at most 64\n",
            match="equals",
        ),
        id="max-seq-length-above-the-engine-profile",
    ),
    pytest.param(
        Refusal(
            (*RUN_ENGINE_FP16, "--max_seq_length=64", "--max_batch_size=32"),
            "error: --max_batch_size=32: above the engine profile's maximum batch of 16; use at "
            "most 16 or rebuild the engine with a larger --batch MAX\n",
            match="equals",
        ),
        id="max-batch-above-the-engine-profile",
    ),
    # verify-engine's thresholds (from unit/commands/test_engine_verify.py)
    pytest.param(
        Refusal(
            (
                "verify-engine",
                "--engine={engine_fp16}",
                "--onnx={onnx}",
                "--input={examples}/reviews-1.txt",
                "--min-label-agreement=1.5",
            ),
            "error: --min-label-agreement=1.5: must be between 0 and 1, e.g. 0.99\n",
            match="equals",
        ),
        id="verify-engine-min-label-agreement-above-1",
    ),
    # outputs and inputs (from pipeline/test_faults.py, pipeline/test_input_hygiene.py,
    # unit/launch/test_output_safety.py)
    pytest.param(
        Refusal(
            (
                "run",
                "--input={tmp}/in.txt",
                "--output={tmp}/a-file/predictions",
                "--onnx_path={onnx}",
            ),
            "error: --output='{tmp}/a-file/predictions': cannot be written ({tmp}/a-file is a "
            "file, not a directory); choose a location this job may write to\n",
            match="equals",
            setup=write_two_reviews_and_a_file_where_the_output_goes,
        ),
        id="output-below-a-file",
    ),
    pytest.param(
        Refusal(
            ("run", "--input={tmp}/nothing-here/*.txt", "--output={tmp}/p", "--onnx_path={onnx}"),
            "error: --input='{tmp}/nothing-here/*.txt': matches no file; check the path and the "
            "wildcard (e.g. gs://bucket/dir/*.txt)\n",
            match="equals",
        ),
        id="input-glob-matches-no-file",
    ),
    pytest.param(
        Refusal(
            (
                *RUN,
                "--runner=DirectRunner",
                "--output={tmp}/pred-x",
                "--dead_letter_output={tmp}/pred",
                "--onnx_path={onnx}",
            ),
            "error: --dead_letter_output='{tmp}/pred': overlaps --output='{tmp}/pred-x'",
        ),
        id="output-prefixed-by-the-dead-letter-output",
    ),
    # unknown and repeated parameters (from unit/launch/test_parameter_mistakes.py)
    pytest.param(
        Refusal(
            (*RUN_DEMO, "--max_seq_lenght=16"),
            "error: --max_seq_lenght: unknown option; did you mean --max_seq_length?",
        ),
        id="misspelled-max-seq-length",
    ),
    pytest.param(
        Refusal(
            (*RUN_DEMO, "--num_wokers=3"),
            "error: --num_wokers: unknown option; did you mean --num_workers?",
        ),
        id="misspelled-num-workers",
    ),
    pytest.param(
        Refusal(
            (*RUN_DEMO, "--colour=red"),
            "error: --colour: unknown option (neither a parameter of this ",
        ),
        id="unknown-option",
    ),
    pytest.param(
        Refusal(
            (*RUN_DEMO, "stray"),
            "error: 'stray': unexpected argument; options are written --name=value",
        ),
        id="stray-argument",
    ),
    pytest.param(
        Refusal(
            (*RUN_DEMO, "--input={examples}/reviews-2.txt"),
            "error: --input: given 2 times; give it once",
        ),
        id="repeated-input",
    ),
    # an engine path is an engine whatever its name (from pipeline/test_wrong_results.py)
    pytest.param(
        Refusal(
            (
                "run",
                "--input={tmp}/in.txt",
                "--output={tmp}/p",
                "--engine_path={bundle}/model.onnx",
            ),
            "its sidecar",
            match="contains",
            setup=write_one_review,
        ),
        id="engine-path-to-an-onnx-file",
    ),
    # bad inputs, models and tokenizers (from unit/test_one_line_failures.py)
    pytest.param(
        Refusal(
            ("run", "--input={broken}/inputs", "--output={tmp}/out/p", "--onnx_path={onnx}"),
            "is a directory; give a file pattern such as",
            match="contains",
        ),
        id="input-is-a-directory",
    ),
    *(
        pytest.param(
            Refusal(
                (*RUN_BROKEN, f"--onnx_path={{broken}}/{name}/model.onnx"), message, "contains"
            ),
            id=f"bundle-{name}",
        )
        for name, message in [
            ("not-onnx", NOT_ONNX),
            ("truncated", NOT_ONNX),
            ("float-inputs", "input 'input_ids' is float"),
            ("no-tokenizer", "no tokenizer could be loaded"),
            ("corrupt-tokenizer", "tokenizer.json"),
            ("no-pad-token", "names no pad token"),
            ("manifest-dir", "bundle.json is a directory"),
            ("manifest-latin1", "bundle.json is not UTF-8"),
            ("manifest-deep", "bundle.json is invalid"),
            ("manifest-shape", "bundle.json is invalid: labels"),
        ]
    ),
    pytest.param(
        Refusal(
            (*RUN_BROKEN, "--onnx_path={onnx}", "--tokenizer={broken}/no/such/dir"),
            "--tokenizer='",
            match="contains",
        ),
        id="tokenizer-missing",
    ),
    pytest.param(
        Refusal(
            (*RUN, "--output={tmp}/file-not-dir/sub/p", "--onnx_path={onnx}"),
            "cannot be written",
            match="contains",
            setup=write_a_file_where_the_output_goes,
        ),
        id="output-below-a-file-deeper",
    ),
    pytest.param(
        Refusal(
            ("run", "--input={tmp}/secret.txt", "--output={tmp}/p", "--onnx_path={onnx}"),
            "cannot be read by this user",
            match="contains",
            setup=write_an_unreadable_input,
        ),
        id="input-unreadable",
        marks=pytest.mark.skipif(
            os.geteuid() == 0, reason="root reads every file: no unreadable file here"
        ),
    ),
]


@pytest.mark.parametrize("refusal", REFUSALS)
def test_launch_refuses_in_one_line(
    refusal: Refusal,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = Placeholders(request)
    args = [argument.format_map(values) for argument in refusal.args]
    message = refusal.message.format_map(values)
    if refusal.setup is not None:
        refusal.setup(tmp_path)
    if refusal.in_repository:
        monkeypatch.chdir(REPOSITORY)
    capsys.readouterr()  # what building a fixture printed (engines print notes) is not the refusal

    status = main(args)

    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    if refusal.match == "equals":
        assert err == message
    elif refusal.match == "contains":
        assert message in err, err
    else:
        assert err.startswith(message), err
