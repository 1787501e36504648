"""ML-Decoder head: batched group FC vs the original per-group loop.

Times forward + backward (training mode) of ``MLDecoderHead`` against the
original ML-Decoder (``mmpretrain_multilabel/models/utils/ml_decoder_original.py``)
loaded with the same weights: attention called with its default
``need_weights=True`` (the original's call) and the group FC as a Python loop
over groups writing into a zero tensor. Outputs are checked to be identical
(eval mode) first. Runs are interleaved and the median of each is reported, with their ratio, for
K = 20, 80, 500 at B x 1280 x 14 x 14 (EfficientNetV2-s at 448 px). The
group-FC step alone is timed as well (the only part whose algorithm differs).

Also prints the head's parameters and its FLOPs from MMEngine's analyzer
(multiply-adds, batch 1; K = 500 also at 18 x 18, i.e. 576 px, as VG500 in
the paper) beside the paper's head deltas, which come from a non-standard
counter (see docs/flops.md).

Usage::

    python benchmarks/ml_decoder_head.py [--quick] [--batch-size 32]
        [--repeats 3] [--threads N] [--device cpu]

``--quick`` uses batch 8 and 2 repeats (a few minutes less on a shared CPU);
ratios at a smaller batch are not the issue's B = 32 figure.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn

from mmpretrain_multilabel.apis.complexity import flop_analyzer
from mmpretrain_multilabel.models.heads import MLDecoderHead, group_fc
from mmpretrain_multilabel.models.utils.ml_decoder_original import (
    loop_group_fc,
    original_from_head,
)

# The paper's GFLOPs (EffV2-s + ML-Decoder minus EffV2-s) and MMEngine's
# count of the original head at 448 px (docs/flops.md).
PAPER_DELTA = {20: 12.00 - 10.83, 80: 12.28 - 10.83, 500: 20.16 - 17.90}
ORIGINAL_MMENGINE = {20: 0.517, 80: 0.795, 500: 1.185}


def head_flops(model: nn.Module, x: torch.Tensor) -> float:
    return flop_analyzer(model, (x, )).total() / 1e9


def fwd_bwd_time(fn, inputs, params) -> float:
    for p in params:
        p.grad = None
    start = time.perf_counter()
    fn(*inputs).sum().backward()
    return time.perf_counter() - start


def timed_pair(fast, slow, inputs, params, repeats):
    """Interleaved medians (seconds) of two functions, after one warm-up each."""
    fwd_bwd_time(fast, inputs, params)
    fwd_bwd_time(slow, inputs, params)
    t_fast, t_slow = [], []
    for _ in range(repeats):
        t_fast.append(fwd_bwd_time(fast, inputs, params))
        t_slow.append(fwd_bwd_time(slow, inputs, params))
    return statistics.median(t_fast), statistics.median(t_slow)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='batch 8, 2 repeats')
    parser.add_argument('--classes', type=int, nargs='+', default=[20, 80, 500])
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.repeats = 8, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f'device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}, '
          f'B={args.batch_size}, input {args.batch_size}x1280x14x14, '
          f'median of {args.repeats} interleaved fwd+bwd runs (train mode)\n')

    rows = []
    for num_classes in args.classes:
        head = MLDecoderHead(num_classes=num_classes, in_channels=1280).to(device)
        loop = original_from_head(head)
        params = [p for m in (head, loop) for p in m.parameters() if p.requires_grad]
        x = torch.randn(args.batch_size, 1280, 14, 14, device=device)

        head.eval()
        loop.eval()  # built in the head's mode: dropout off in both for the comparison
        with torch.no_grad():
            diff = (head((x, )) - loop(x)).abs().max().item()
            x1 = torch.randn(1, 1280, 14, 14, device=device)
            flops = head_flops(head, x1)
            flops_loop = head_flops(loop, x1)
            flops_576 = head_flops(head, torch.randn(1, 1280, 18, 18, device=device)) \
                if num_classes == 500 else None
        head.train()
        loop.train()

        t_head, t_loop = timed_pair(lambda inp, head=head: head((inp, )), loop, (x, ), params,
                                    args.repeats)
        h = torch.randn(args.batch_size, head.num_groups, 768, device=device, requires_grad=True)
        gparams = [h, head.group_weight, head.group_bias]
        w, b = head.group_weight, head.group_bias
        t_gfc, t_gloop = timed_pair(
            lambda t, w=w, b=b, k=num_classes: group_fc(t, w, b, k),
            lambda t, w=w, b=b, k=num_classes: loop_group_fc(t, w, k, b),
            (h, ), gparams, args.repeats)
        trainable = sum(p.numel() for p in params)
        rows.append((num_classes, head.num_groups, head.group_size, trainable,
                     head.query_embed.numel(), flops, flops_loop, flops_576, t_loop, t_head,
                     t_gloop, t_gfc, diff))

    print('| K | groups x size | params (trainable + frozen queries) | GFLOPs 14x14 (loop impl.) '
          '| paper head delta | loop fwd+bwd | batched fwd+bwd | speed-up '
          '| group FC loop | group FC batched | speed-up | max abs diff |')
    print('|' + '---|' * 12)
    for (k, groups, size, trainable, frozen, flops, flops_loop, flops_576, t_loop, t_head,
         t_gloop, t_gfc, diff) in rows:
        f = f'{flops:.3f} ({flops_loop:.3f})'
        if flops_576 is not None:
            f += f'; 18x18: {flops_576:.3f}'
        ref = ORIGINAL_MMENGINE.get(k)
        paper = f'{PAPER_DELTA[k]:.2f}' if k in PAPER_DELTA else '-'
        if ref is not None:
            paper += f' (original, MMEngine: {ref})'
        print(f'| {k} | {groups} x {size} | {trainable / 1e6:.2f} M + {frozen / 1e3:.1f} k | {f} '
              f'| {paper} | {t_loop * 1e3:.0f} ms | {t_head * 1e3:.0f} ms | {t_loop / t_head:.2f}x '
              f'| {t_gloop * 1e3:.1f} ms | {t_gfc * 1e3:.1f} ms | {t_gloop / t_gfc:.1f}x '
              f'| {diff:.1e} |')


if __name__ == '__main__':
    main()
