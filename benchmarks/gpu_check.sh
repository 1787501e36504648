#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU, install what is missing and run
# the benchmark suite at full size with AMP; the table lands in $OUT (or
# benchmarks/) as gpu_results.md. Meant to finish in under 8 minutes.
#
# Offline machines: put wheels in .whl/ (see docs/benchmarks.md) and they are
# installed from there; otherwise the pinned stack comes from the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-benchmarks}
export PYTHONUNBUFFERED=1

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || {
    echo "no NVIDIA GPU visible"; exit 1; }

# --- current torch (issue 19): a machine whose torch is newer than the pinned
# 2.2.1 keeps it; the graph layers then run on PyTorch Geometric (one small
# pure-Python wheel) instead of DGL, with requirements/constraints-current.txt
# minus its torch / torchvision pins.
constraints=requirements/constraints.txt graph_extra=graph
if python3 -c "import sys, torch; sys.exit(tuple(map(int, torch.__version__.split('.')[:2])) <= (2, 2))" 2>/dev/null; then
    grep -v -E '^(torch|torchvision)==' requirements/constraints-current.txt > /tmp/constraints-gpu.txt
    constraints=/tmp/constraints-gpu.txt graph_extra=graph-pyg
fi
# --- end current torch

if ! python3 -c "import mmpretrain_multilabel, mmpretrain" 2>/dev/null; then
    if [ -d .whl ]; then
        python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
        export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
    else
        python3 -m pip install -q -c "$constraints" -e ".[$graph_extra,tests]"
    fi
fi

timeout 460 python3 benchmarks/run_all.py --amp --out "$OUT_DIR/gpu_results.md" \
    2>&1 | tee "$OUT_DIR/gpu_check.log"
