#!/usr/bin/env bash
# Install mmpretrain-multilabel with the tested pins, the graph extra (DGL),
# the offline demo weights/word vectors, the export runtimes (ONNX, OpenVINO),
# TensorBoard and the test tools.
# Usage: bash tools/install.sh   (from the repository root; uses `python`)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
"$PYTHON" -m pip install --upgrade-strategy only-if-needed \
    -c requirements/constraints.txt \
    -e ".[graph,demo,deploy,tensorboard,tests]"
"$PYTHON" -c "import mmpretrain_multilabel, dgl; print('mmpretrain_multilabel', mmpretrain_multilabel.__version__, 'ready')"
