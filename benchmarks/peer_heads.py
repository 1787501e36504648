"""Latency of the peer heads next to the linear head on the same features.

Times Query2Label, ML-GCN, ML-Decoder and the linear head (MMPretrain's
``GlobalAveragePooling`` + ``MultiLabelLinearClsHead``, the baseline every
ratio is relative to) on one ``B x 1280 x 14 x 14`` feature map
(EfficientNetV2-s at 448 px), K = 80 (COCO):

* forward + backward (train mode; gradients of the head's parameters and of
  the input features, i.e. as far as the backbone);
* eval latency (eval mode, no gradient; ML-GCN's classifiers cached).

Runs are interleaved over the heads and the median of each is reported.
Head settings are the paper configs': Q2L D = FFN = 1280, 4 heads, 1 encoder
+ 2 decoder layers; ML-GCN 300-d node features (the paper's GloVe size, a
random graph: its values do not change the cost), hidden 1024; ML-Decoder
defaults (D 768, 80 groups). Also prints MMEngine's FLOP count of each head
(batch 1) with its stock handles and as the FLOPs tool counts it (plus the
attention products of ``aten::scaled_dot_product_attention``).

Usage::

    python benchmarks/peer_heads.py [--batch-size 8] [--repeats 7]
        [--threads 1] [--num-classes 80] [--device cpu]
"""
import argparse
import statistics
import time

import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer
from mmpretrain.registry import MODELS
from torch import nn

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis.complexity import flop_analyzer

CHANNELS = 1280


def head_configs(num_classes: int) -> dict:
    rng = np.random.RandomState(0)
    adj = (rng.rand(num_classes, num_classes) < 0.1).astype(np.float32)
    graph = dict(node_features=rng.randn(num_classes, 300).astype(np.float32), adjacency=adj)
    common = dict(num_classes=num_classes, in_channels=CHANNELS)
    return {
        'linear': None,  # GAP + MultiLabelLinearClsHead
        'ML-Decoder': dict(type='MLDecoderHead', **common),
        'Q2L': dict(type='Query2LabelHead', embed_dims=1280, ffn_dims=1280, num_heads=4,
                    num_encoder_layers=1, num_decoder_layers=2, **common),
        'ML-GCN': dict(type='MLGCNHead', hidden_channels=1024, graph=graph, **common),
    }


class LinearHead(nn.Module):
    """GAP + MMPretrain's linear multilabel head, on the feature map."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.neck = MODELS.build(dict(type='GlobalAveragePooling'))
        self.head = MODELS.build(dict(type='MultiLabelLinearClsHead', num_classes=num_classes,
                                      in_channels=CHANNELS))

    def forward(self, feats):
        return self.head(self.neck(feats))


class _Tensor(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head((x, ))


def head_gflops(head: nn.Module, x: torch.Tensor, with_sdpa: bool) -> float:
    if with_sdpa:  # the FLOPs tool's analyzer
        analyzer = flop_analyzer(_Tensor(head), (x, ))
    else:  # MMEngine's stock handles
        analyzer = FlopAnalyzer(_Tensor(head), (x, ))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analyzer.total() / 1e9


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def train_time(head, x, device) -> float:
    for p in head.parameters():
        p.grad = None
    x.grad = None
    sync(device)
    t0 = time.perf_counter()
    head((x, )).sum().backward()
    sync(device)
    return time.perf_counter() - t0


def eval_time(head, x, device) -> float:
    sync(device)
    t0 = time.perf_counter()
    with torch.no_grad():
        head((x, ))
    sync(device)
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-classes', type=int, default=80)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads (1 keeps timings stable on a shared machine)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)

    heads = {}
    for name, cfg in head_configs(args.num_classes).items():
        heads[name] = (LinearHead(args.num_classes) if cfg is None else MODELS.build(cfg))
        heads[name].to(device)
    x_train = torch.randn(args.batch_size, CHANNELS, 14, 14, device=device, requires_grad=True)
    x_eval = x_train.detach()

    flops = {}
    x1 = torch.randn(1, CHANNELS, 14, 14, device=device)
    for name, head in heads.items():
        head.eval()
        with torch.no_grad():
            head((x1, ))  # fills ML-GCN's cache, as at inference
            flops[name] = (head_gflops(head, x1, False), head_gflops(head, x1, True))

    times = {name: dict(train=[], eval=[]) for name in heads}
    for phase, fn, x in (('train', train_time, x_train), ('eval', eval_time, x_eval)):
        for head in heads.values():
            head.train(phase == 'train')
            fn(head, x, device)  # warm-up
        for i in range(args.repeats):
            order = list(heads.items())
            order = order if i % 2 == 0 else order[::-1]
            for name, head in order:
                times[name][phase].append(fn(head, x, device))

    med = {n: {p: statistics.median(v) for p, v in t.items()} for n, t in times.items()}
    base = med['linear']
    dev = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    print(f'device {args.device} ({dev}), {torch.get_num_threads()} threads, '
          f'torch {torch.__version__}, features {args.batch_size}x{CHANNELS}x14x14, '
          f'K={args.num_classes}, median of {args.repeats} interleaved runs\n')
    print('| head | params (M) | GFLOPs (MMEngine stock; FLOPs tool) | fwd+bwd ms '
          '| fwd+bwd / linear | eval ms | eval / linear |')
    print('|---|---|---|---|---|---|---|')
    for name, head in heads.items():
        params = sum(p.numel() for p in head.parameters()) / 1e6
        f0, f1 = flops[name]
        print(f'| {name} | {params:.2f} | {f0:.4f}; {f1:.4f} | {med[name]["train"] * 1e3:.2f} '
              f'| {med[name]["train"] / base["train"]:.2f}x | {med[name]["eval"] * 1e3:.2f} '
              f'| {med[name]["eval"] / base["eval"]:.2f}x |')


if __name__ == '__main__':
    main()
