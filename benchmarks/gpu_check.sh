#!/usr/bin/env bash
# GPU check, one command, under 8 minutes on one GPU: training img/s and peak
# memory of configs/effv2s_mld_aam_coco.py (448 px, AMP, SAM) against the stock
# EfficientNetV2-s linear-head setup, from in-memory batches and from the real
# data pipeline (workers needed at 448 px with RandAugment), and inference img/s
# of the checkpoint and of its ONNX export. Table: $OUT (or benchmarks/)/gpu_results.md.
#
# Uses the machine's own torch; no network: the pure-Python wheels in .whl/
# (benchmarks/prepare_wheels.sh) are installed into /tmp/site when the stack is
# missing. `bash benchmarks/gpu_check.sh --dry-run` runs it on the CPU at tiny
# sizes (the test).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-benchmarks}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
DRY=()
if [ "${1:-}" = "--dry-run" ]; then
    DRY=(--dry-run)
else
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || {
        echo "no NVIDIA GPU visible (use --dry-run on a CPU)"; exit 1; }
fi

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

if ! python3 -c "import mmengine, mmpretrain" 2>/dev/null; then
    if [ -d .whl ]; then
        python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
        export PYTHONPATH=$PYTHONPATH:/tmp/site
    else
        python3 -m pip install -q -c "$constraints" -e ".[$graph_extra,tests]"
    fi
fi

timeout "${GPU_CHECK_TIMEOUT:-460}" python3 benchmarks/gpu_check.py "${DRY[@]}" --out "$OUT_DIR/gpu_results.md" \
    2>&1 | tee "$OUT_DIR/gpu_check.log"
exit "${PIPESTATUS[0]}"
