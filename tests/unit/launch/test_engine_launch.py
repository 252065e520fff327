"""Launch checks for engines that read the sidecar: GPUs per worker, the tokenizer's fit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support.repository import EXAMPLES
from trt_text_classifier.errors import ParameterError
from trt_text_classifier.launch.parameters import PipelineParameters
from trt_text_classifier.launch.preflight import check_parameters
from trt_text_classifier.sidecar import read_sidecar, write_sidecar

pytest.importorskip("tensorrt_rtx")


def engine_params(engine: Path, accelerator: str) -> PipelineParameters:
    return PipelineParameters(
        input=str(EXAMPLES / "reviews-1.txt"),
        output=str(engine.parent / "out" / "predictions"),
        engine_path=str(engine),
        accelerator=accelerator,
    )


def test_an_engine_on_workers_with_two_gpus_is_refused_at_launch(
    demo_engines: dict[str, Path],
) -> None:
    engine = demo_engines["fp32"]
    params = engine_params(engine, "type:nvidia-l4;count:2;install-nvidia-driver")
    with pytest.raises(ParameterError) as error:
        check_parameters(params, runner="DataflowRunner")
    assert str(error.value) == (
        f"--accelerator: count:2 with --engine_path={str(engine)!r}: a worker serves its engine "
        "on one GPU (one model per worker, shared by its SDK processes), so 1 of the 2 GPUs "
        "would sit idle; use count:1 and scale out with more workers (Dataflow's "
        "--max_num_workers)"
    )


def test_an_engine_on_workers_with_one_gpu_passes(demo_engines: dict[str, Path]) -> None:
    params = engine_params(demo_engines["fp32"], "type:nvidia-l4;count:1;install-nvidia-driver")
    check_parameters(params, runner="DataflowRunner")


def copy_of_engine(engine: Path, directory: Path) -> Path:
    """The engine, its sidecar and its tokenizer copied into `directory`."""
    directory.mkdir()
    copy = directory / engine.name
    shutil.copyfile(engine, copy)
    shutil.copyfile(f"{engine}.json", f"{copy}.json")
    shutil.copytree(f"{engine}.tokenizer", f"{copy}.tokenizer")
    return copy


def tokenizer_with_more_tokens(engine: Path, directory: Path) -> tuple[Path, int]:
    from tokenizers import Tokenizer

    shutil.copytree(f"{engine}.tokenizer", directory)
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.add_tokens([f"word{index}" for index in range(300)])
    tokenizer.save(str(directory / "tokenizer.json"))
    return directory, tokenizer.get_vocab_size(with_added_tokens=True)


def test_an_engine_records_the_size_of_the_tokenizer_it_was_built_with(
    demo_engines: dict[str, Path],
) -> None:
    assert read_sidecar(str(demo_engines["fp32"])).tokenizer_vocabulary_size == 282


def test_another_models_tokenizer_is_refused_for_an_engine(
    demo_engines: dict[str, Path], tmp_path: Path
) -> None:
    engine = demo_engines["fp32"]
    other, vocabulary = tokenizer_with_more_tokens(engine, tmp_path / "other-tokenizer")
    params = engine_params(engine, "type:nvidia-l4;count:1;install-nvidia-driver")
    params = params.model_copy(update={"tokenizer": str(other)})
    with pytest.raises(ParameterError) as error:
        check_parameters(params, runner="DataflowRunner")
    assert str(error.value) == (
        f"--tokenizer={str(other)!r}: the tokenizer has {vocabulary} tokens but the engine was "
        "built with a tokenizer of 282: it belongs to another model; give the tokenizer built "
        "beside the engine (leave out --tokenizer)"
    )


def test_an_engine_whose_sidecar_predates_the_record_is_not_refused(
    demo_engines: dict[str, Path], tmp_path: Path
) -> None:
    engine = copy_of_engine(demo_engines["fp32"], tmp_path / "older")
    sidecar = read_sidecar(str(engine))
    write_sidecar(str(engine), sidecar.model_copy(update={"tokenizer_vocabulary_size": None}))
    other, _ = tokenizer_with_more_tokens(engine, tmp_path / "other-tokenizer")
    params = engine_params(engine, "type:nvidia-l4;count:1;install-nvidia-driver")
    check_parameters(params.model_copy(update={"tokenizer": str(other)}), runner="DataflowRunner")


def test_an_engine_input_the_tokenizer_does_not_produce_is_refused(
    demo_engines: dict[str, Path], tmp_path: Path
) -> None:
    engine = copy_of_engine(demo_engines["fp32"], tmp_path / "engine")
    sidecar = read_sidecar(str(engine))
    position_ids = sidecar.inputs[0].model_copy(update={"name": "position_ids"})
    write_sidecar(
        str(engine), sidecar.model_copy(update={"inputs": (*sidecar.inputs, position_ids)})
    )
    params = engine_params(engine, "type:nvidia-l4;count:1;install-nvidia-driver")
    with pytest.raises(ParameterError) as error:
        check_parameters(params, runner="DataflowRunner")
    assert str(error.value) == (
        f"--engine_path={str(engine)!r}: input 'position_ids' is not produced by the tokenizer "
        "(it gives input_ids, attention_mask, token_type_ids); build the engine from a model "
        "exported with `trt-text-classifier export`, whose inputs the tokenizer feeds"
    )
