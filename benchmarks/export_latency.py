"""Latency of exported models (ONNX Runtime, OpenVINO) against PyTorch eager.

Exports a config's model (random weights: timing does not depend on them)
as ``tools/deployment/export.py`` does and times, on the CPU and on the same
input, the eager ``sigmoid(head(extract_feat(x)))`` (no grad) against the
ONNX model in onnxruntime and the OpenVINO IR in OpenVINO. Scores are
checked to agree first. Runs are interleaved (one run of each in turn, after
warm-up) and the median of each is reported with the ratios eager / ORT and
eager / OV (above 1: the exported model is faster). All three use the same
number of threads. OpenVINO compiles in fp32 unless ``--precision`` asks for
bf16 or fp16 (a CPU without them runs fp32: the precision the compiled model
reports is printed).

Models: the demo ML-Decoder model (EfficientNet-Lite0 + ML-Decoder + AAM) at
128 px; with ``--full`` also the paper's EfficientNetV2-s + ML-Decoder at
448 px (COCO, K = 80).

Usage::

    python benchmarks/export_latency.py [--full] [--batch-sizes 1 8]
        [--repeats 20] [--threads N] [--size 128] [--precision fp32|bf16|fp16]
"""
import argparse
import os.path as osp
import statistics
import tempfile
import time

import numpy as np
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.deployment import (
    DEFAULT_PRECISION,
    PRECISIONS,
    ScoresModel,
    encode_metadata,
    export_onnx,
    import_optional,
    load_exported,
    onnx_to_openvino,
    preprocessing_metadata,
)

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..')

DEMO = ('demo ML-Decoder (Lite0)', 'configs/demo/lite0_mld-aam_1xb32_demo-128px.py')
FULL = ('EffV2-s ML-Decoder', 'configs/effv2s_mld_aam_coco.py', 448)


def build(config: str) -> tuple:
    """(eval-mode model without pretrained weights, config)."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model).eval(), cfg


def export(model, cfg, size: int, workdir: str, threads: int,
           precision: str = DEFAULT_PRECISION) -> dict:
    """Eager, ONNX Runtime and OpenVINO (in ``precision``) callables on
    numpy batches."""
    k = model.head.num_classes
    metadata = encode_metadata([f'class_{i}' for i in range(k)], 0.5, (size, size),
                               preprocessing_metadata(cfg))
    onnx_path = export_onnx(model, osp.join(workdir, 'model.onnx'), (size, size), metadata)
    xml_path = onnx_to_openvino(onnx_path, osp.join(workdir, 'model.xml'), metadata)
    eager = ScoresModel(model).eval()

    def run_eager(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return eager(torch.from_numpy(x)).numpy()

    return {'eager': run_eager, 'ort': load_exported(onnx_path, num_threads=threads),
            'ov': load_exported(xml_path, num_threads=threads, precision=precision)}


def interleaved_medians(runners: dict, x: np.ndarray, repeats: int, warmup: int = 2) -> dict:
    """Median seconds per call of each runner, runs interleaved."""
    for _ in range(warmup):
        for run in runners.values():
            run(x)
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run(x)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--full', action='store_true',
                        help='also EfficientNetV2-s + ML-Decoder at 448 px')
    parser.add_argument('--size', type=int, default=128, help='demo model input size')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--threads', type=int, default=None,
                        help="threads of every runtime; default: torch's default")
    parser.add_argument('--precision', choices=list(PRECISIONS), default=DEFAULT_PRECISION,
                        help='OpenVINO inference precision (default fp32)')
    args = parser.parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    models = [(*DEMO, args.size)] + ([FULL] if args.full else [])
    versions = ', '.join(f'{name} {import_optional(name).__version__.split("-")[0]}'
                         for name in ('onnxruntime', 'openvino'))
    print(f'CPU, {threads} threads each; torch {torch.__version__}, {versions}; '
          f'median of {args.repeats} interleaved runs\n')

    rows = []
    for title, config, size in models:
        torch.manual_seed(0)
        model, cfg = build(config)
        with tempfile.TemporaryDirectory() as workdir:
            runners = export(model, cfg, size, workdir, threads, args.precision)
            ov_precision = runners['ov'].precision
            for batch in args.batch_sizes:
                x = np.random.RandomState(0).randn(batch, 3, size, size).astype(np.float32)
                want = runners['eager'](x)
                diff = {n: float(np.abs(runners[n](x) - want).max()) for n in ('ort', 'ov')}
                med = interleaved_medians(runners, x, args.repeats)
                rows.append((title, size, batch, med, diff))

    print(f'OpenVINO inference precision: {args.precision} requested, {ov_precision} '
          'compiled\n')
    print('| model | px | batch | eager | ORT | OV | eager / ORT | eager / OV '
          '| max abs diff ORT, OV |')
    print('|' + '---|' * 9)
    for title, size, batch, med, diff in rows:
        print(f'| {title} | {size} | {batch} | {med["eager"] * 1e3:.1f} ms '
              f'| {med["ort"] * 1e3:.1f} ms | {med["ov"] * 1e3:.1f} ms '
              f'| {med["eager"] / med["ort"]:.2f}x | {med["eager"] / med["ov"]:.2f}x '
              f'| {diff["ort"]:.1e}, {diff["ov"]:.1e} |')


if __name__ == '__main__':
    main()
