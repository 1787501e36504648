"""End-to-end speed of the main paper models on the current device.

For each model: inference images/s (eval forward), the training step time
through MMPretrain's ``train_step`` with the config's optimizer wrapper, and
the pipeline's overhead: ``model.train_step`` with a plain ``OptimWrapper``
(data preprocessor, loss parsing, wrapper update) over the bare model
forward + backward + optimizer step on the same batch (target <= 1.10x).

Usage::

    python benchmarks/end_to_end.py [--size 448] [--batch N] [--iters N] [--amp]

Sizes adapt to the device: batch 2 and 3 timed iterations on a CPU, batch 32
and 20 iterations on a GPU, unless given.
"""
import argparse
import os
import time
from typing import Callable, Dict, List

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis.complexity import build_inference_model

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')

MAIN_CONFIGS = [
    'configs/effv2s/effv2s_linear-asl_2xb42_coco-448px.py',
    'configs/effv2s/effv2s_mld-aam_2xb42_coco-448px.py',
    'configs/effv2s/effv2s_gat-aam_2xb42_voc07-448px.py',
]


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def timed(fn: Callable[[], None], iters: int, device: torch.device) -> float:
    """Median seconds of ``fn`` over ``iters`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(iters):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def build(config: str, device: torch.device):
    init_default_scope('mmpretrain')  # optimizer wrappers are registered there
    cfg = Config.fromfile(os.path.join(ROOT, config))
    # speed only: no pretrained weights, and a random label graph of the right size
    # instead of one built from the training set (which may not be on this machine)
    model = build_inference_model(cfg, random_graph=True).to(device)
    return cfg, model


def make_batch(model, batch: int, size: int, device: torch.device) -> Dict:
    num_classes = model.head.num_classes
    samples = []
    for i in range(batch):
        labels = torch.tensor([i % num_classes, (3 * i + 1) % num_classes]).unique()
        samples.append(DataSample().set_gt_label(labels))
    inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def measure(config: str, size: int, batch: int, iters: int, amp: bool,
            device: torch.device) -> Dict[str, float]:
    cfg, model = build(config, device)
    data = make_batch(model, batch, size, device)
    row = {}

    model.eval()
    with torch.no_grad(), torch.autocast(device.type, enabled=amp):
        processed = model.data_preprocessor(data, False)
        row['infer img/s'] = batch / timed(
            lambda: model(processed['inputs'], mode='tensor'), iters, device)

    model.train()
    wrapper_cfg = cfg.optim_wrapper.copy()
    if amp:
        wrapper_cfg['type'] = 'AmpOptimWrapper'
    recipe = build_optim_wrapper(model, wrapper_cfg)
    row['train step s (recipe)'] = timed(lambda: model.train_step(data, recipe), iters, device)

    plain = build_optim_wrapper(
        model, dict(type='AmpOptimWrapper' if amp else 'OptimWrapper',
                    optimizer=dict(type='SGD', lr=1e-4, momentum=0.9)))
    row['train step s (plain)'] = timed(lambda: model.train_step(data, plain), iters, device)

    optimizer = plain.optimizer
    processed = model.data_preprocessor(data, True)

    def bare():
        with torch.autocast(device.type, enabled=amp):
            loss = model.head.loss(model.extract_feat(processed['inputs']),
                                   processed['data_samples'])['loss']
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    row['bare fwd+bwd s'] = timed(bare, iters, device)
    row['pipeline / bare'] = row['train step s (plain)'] / row['bare fwd+bwd s']
    row['recipe / plain'] = row['train step s (recipe)'] / row['train step s (plain)']
    return row


def run(configs: List[str], size: int, batch: int, iters: int, amp: bool) -> str:
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    keys = None
    lines = []
    for config in configs:
        row = measure(config, size, batch, iters, amp, device)
        if keys is None:
            keys = list(row)
            lines += ['| config | ' + ' | '.join(keys) + ' |',
                      '|---|' + '---|' * len(keys)]
        lines.append(f'| {os.path.basename(config)} | ' +
                     ' | '.join(f'{row[k]:.3f}' for k in keys) + ' |')
    header = (f'End to end on {device.type} ({torch.get_num_threads()} threads), '
              f'{size} px, batch {batch}, median of {iters}{", AMP" if amp else ""}:')
    return '\n'.join([header, ''] + lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=448)
    parser.add_argument('--batch', type=int, default=None)
    parser.add_argument('--iters', type=int, default=None)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--configs', nargs='+', default=MAIN_CONFIGS)
    args = parser.parse_args(argv)
    gpu = torch.cuda.is_available()
    batch = args.batch or (32 if gpu else 2)
    iters = args.iters or (20 if gpu else 3)
    table = run(args.configs, args.size, batch, iters, args.amp)
    print(table)
    return table


if __name__ == '__main__':
    main()
