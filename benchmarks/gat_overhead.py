"""Inference overhead of the GAT re-weighting neck.

Eval-mode latency of ``backbone + GATReweightNeck + head`` over
``backbone + GlobalAveragePooling + head`` (MMPretrain's ``ImageClassifier``,
same head, same input), measured interleaved in one run and printed as a
ratio (target <= 1.02: the graph branch runs once, then its channel weights
are a cached constant). Also prints MMEngine's FLOP count of both models.

The graph is a random K-label graph with 300-d node features (the paper's
GloVe size); the branch's weights do not change its cost.

Usage::

    python benchmarks/gat_overhead.py [--backbone lite0|effv2s]
        [--img-size 224] [--batch-size 1] [--iters 40] [--device cpu]
"""
import argparse
import statistics
import time

import numpy as np
import torch
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401  registers the components

BACKBONES = {
    # timm EfficientNet-Lite0 (1280 channels), no weights needed for timing
    'lite0': dict(type='TIMMBackbone', model_name='efficientnet_lite0'),
    # the paper's backbone, MMPretrain's EfficientNetV2-s (1280 channels)
    'effv2s': dict(type='EfficientNetV2', arch='s'),
}


def random_graph(num_classes: int, dim: int, seed: int = 0) -> dict:
    rng = np.random.RandomState(seed)
    adj = (rng.rand(num_classes, num_classes) < 0.1).astype(np.float32)
    np.fill_diagonal(adj, 1.0)
    return dict(node_features=rng.randn(num_classes, dim).astype(np.float32),
                adjacency=adj)


def build(backbone: str, neck: dict, num_classes: int):
    model = MODELS.build(
        dict(type='ImageClassifier', backbone=BACKBONES[backbone], neck=neck,
             head=dict(type='MultiLabelLinearClsHead',
                       num_classes=num_classes, in_channels=1280)))
    return model.eval()  # random weights: timing does not depend on them


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backbone', default='lite0', choices=BACKBONES)
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--num-classes', type=int, default=80)
    parser.add_argument('--iters', type=int, default=40)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--layer-type', default='gat', choices=['gat', 'gcn'])
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads (1 keeps timings stable on a '
                        'shared machine)')
    parser.add_argument('--no-flops', action='store_true')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    base = build(args.backbone, dict(type='GlobalAveragePooling'),
                 args.num_classes)
    gat = build(args.backbone,
                dict(type='GATReweightNeck', in_channels=1280,
                     graph=random_graph(args.num_classes, 300),
                     layer_type=args.layer_type, num_classes=args.num_classes),
                args.num_classes)
    gat.backbone.load_state_dict(base.backbone.state_dict())
    base.to(args.device)
    gat.to(args.device)
    x = torch.randn(args.batch_size, 3, args.img_size, args.img_size,
                    device=args.device)

    def run(model):
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model(x, mode='tensor')
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    times = {'base': [], 'gat': []}
    with torch.no_grad():
        for _ in range(args.warmup):
            run(base), run(gat)
        for i in range(args.iters):  # interleaved, alternating order
            order = (('base', base), ('gat', gat)) if i % 2 == 0 else (
                ('gat', gat), ('base', base))
            for name, model in order:
                times[name].append(run(model))
    med = {k: statistics.median(v) for k, v in times.items()}
    pair = [g / b for g, b in zip(times['gat'], times['base'])]
    dev = (torch.cuda.get_device_name() if args.device.startswith('cuda')
           else 'cpu')
    print(f'device={args.device} ({dev}), '
          f'threads={torch.get_num_threads()}, backbone={args.backbone}, '
          f'input={tuple(x.shape)}, K={args.num_classes}, '
          f'layer_type={args.layer_type}, iters={args.iters}')
    print(f'backbone+GAP+head      median {med["base"] * 1e3:8.2f} ms')
    print(f'backbone+GATneck+head  median {med["gat"] * 1e3:8.2f} ms')
    print(f'ratio (median GAT / median GAP) = {med["gat"] / med["base"]:.4f}'
          f'   (median of paired ratios {statistics.median(pair):.4f}; '
          'target <= 1.02)')
    print(f'ratio of minima = {min(times["gat"]) / min(times["base"]):.4f} '
          '(least disturbed by other processes on a shared machine)')

    # The necks alone on the backbone's feature map: the extra time is small
    # next to the backbone's run-to-run noise, so measure it directly too.
    with torch.no_grad():
        feats = base.backbone(x)
        neck_t = {'base': [], 'gat': []}
        for i in range(args.iters * 10):
            for name, model in ((('base', base), ('gat', gat)) if i % 2 == 0
                                else (('gat', gat), ('base', base))):
                t0 = time.perf_counter()
                model.neck(feats)
                if args.device.startswith('cuda'):
                    torch.cuda.synchronize()
                neck_t[name].append(time.perf_counter() - t0)
    extra = (statistics.median(neck_t['gat']) -
             statistics.median(neck_t['base']))
    print(f'necks alone: GAP {statistics.median(neck_t["base"]) * 1e6:.1f} us, '
          f'GATReweightNeck (cached) {statistics.median(neck_t["gat"]) * 1e6:.1f}'
          f' us -> extra {extra * 1e3:.3f} ms = ratio '
          f'{(med["base"] + extra) / med["base"]:.4f} of the whole model')

    if not args.no_flops:
        from mmengine.analysis import FlopAnalyzer
        flops = {
            name: FlopAnalyzer(model, (x[:1], )).unsupported_ops_warnings(
                False).uncalled_modules_warnings(False).total()
            for name, model in (('base', base), ('gat', gat))
        }
        print(f'FLOPs (MMEngine analyzer, multiply-adds, batch 1): '
              f'GAP {flops["base"] / 1e9:.4f} G, GAT {flops["gat"] / 1e9:.4f} '
              f'G, equal={flops["base"] == flops["gat"]}')

if __name__ == '__main__':
    main()
