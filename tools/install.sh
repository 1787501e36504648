#!/usr/bin/env bash
# Install mmpretrain-multilabel with the tested pins, the graph backends, the
# offline demo weights/word vectors, the export runtimes (ONNX, OpenVINO),
# TensorBoard and the test tools.
# Usage: bash tools/install.sh             pinned stack: torch 2.2.1 with DGL (the default
#                                          graph backend) and PyTorch Geometric
#                                          (requirements/constraints.txt)
#        bash tools/install.sh --current   current torch with PyTorch Geometric as the graph
#                                          backend (requirements/constraints-current.txt)
# Run from anywhere; installs into `python` (override: PYTHON=/path/to/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
constraints=requirements/constraints.txt
graph_extras=graph,graph-pyg
graph_modules=dgl,torch_geometric
case "${1:-}" in
    '') ;;
    --current)
        constraints=requirements/constraints-current.txt
        graph_extras=graph-pyg
        graph_modules=torch_geometric ;;
    *) echo "usage: bash tools/install.sh [--current]" >&2; exit 2 ;;
esac
"$PYTHON" -m pip install --upgrade-strategy only-if-needed \
    -c "$constraints" \
    -e ".[$graph_extras,demo,deploy,tensorboard,tests]"
"$PYTHON" -c "import mmpretrain_multilabel, torch, torchvision, $graph_modules
from mmpretrain_multilabel.models.utils import resolve_graph_backend
print('mmpretrain_multilabel', mmpretrain_multilabel.__version__, 'ready: torch',
      torch.__version__, 'graph backend', resolve_graph_backend('auto'))"
