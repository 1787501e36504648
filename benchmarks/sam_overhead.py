"""Training-step cost of SAM over its base optimizer.

Times ``model.train_step(batch, optim_wrapper)`` of MMPretrain's
``ImageClassifier`` (EfficientNet-Lite0 through ``TIMMBackbone``, or ResNet-18;
GAP; ``MultiLabelLinearClsHead``, 80 classes) with ``SAMOptimWrapper`` (SGD
inside) and with a plain ``OptimWrapper`` (the same SGD), same model, same
batch. Rounds alternate between the two (in a rotating order) so that a busy
machine slows both alike; the medians are printed with their ratio (target <= 2.05: SAM runs two
forward/backward passes, the rest must stay small). A third timing, two
plain forward/backward passes and one SGD step, is the floor any SAM
implementation has; ``SAM / floor`` is the cost of the wrapper's own work. On the CPU the process
CPU time is measured besides the wall time, and the ratio of CPU times is
the one to read on a shared machine (other processes inflate wall time
unevenly); use ``--threads 1`` there.

Usage::

    python benchmarks/sam_overhead.py [--backbone lite0|resnet18]
        [--batch-size 16] [--img-size 128] [--rounds 8] [--steps 1]
        [--device cpu] [--threads 1] [--adaptive]
"""
import argparse
import statistics
import time
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.engine import SAMOptimWrapper
from mmpretrain_multilabel.utils.stats import quartiles

BACKBONES = dict(
    lite0=(dict(type='TIMMBackbone', model_name='efficientnet_lite0', pretrained=False),
           1280),
    resnet18=(dict(type='ResNet', depth=18), 512),
)


def build_model(backbone: str, num_classes: int = 80):
    cfg, channels = BACKBONES[backbone]
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=cfg,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='MultiLabelLinearClsHead', num_classes=num_classes,
                  in_channels=channels),
        data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=num_classes,
                               mean=[127.5] * 3, std=[64.0] * 3, to_onehot=True)))


def make_batch(batch_size: int, img_size: int, num_classes: int = 80):
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, img_size, img_size), generator=g,
                            dtype=torch.uint8) for _ in range(batch_size)]
    samples = [DataSample().set_gt_label(
        torch.randperm(num_classes, generator=g)[:3].tolist())
        for _ in range(batch_size)]
    return dict(inputs=inputs, data_samples=samples)


def make_wrapper(model, sam: bool, adaptive: bool):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9,
                                weight_decay=5e-4)
    if sam:
        return SAMOptimWrapper(optimizer=optimizer, rho=0.05, adaptive=adaptive)
    return OptimWrapper(optimizer=optimizer)


class TwoPasses:
    """Two plain forward/backward passes, then the base step: the floor."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    @contextmanager
    def optim_context(self, model):
        self.model = model
        yield

    def update_params(self, loss):
        self.wrapper.backward(loss)
        self.wrapper.zero_grad()
        loss, _ = self.model.parse_losses(self.model(**self._data, mode='loss'))
        self.wrapper.update_params(loss)


def time_steps(model, wrapper, batch, steps: int, device: str):
    """Mean wall and process-CPU seconds per step."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        if isinstance(wrapper, TwoPasses):
            wrapper._data = model.data_preprocessor(batch, True)
            with wrapper.optim_context(model):
                loss, _ = model.parse_losses(model(**wrapper._data, mode='loss'))
            wrapper.update_params(loss)
        else:
            model.train_step(batch, wrapper)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return ((time.perf_counter() - wall) / steps,
            (time.process_time() - cpu) / steps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backbone', choices=sorted(BACKBONES), default='lite0')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--img-size', type=int, default=128)
    parser.add_argument('--rounds', type=int, default=8)
    parser.add_argument('--steps', type=int, default=1, help='steps per round')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    parser.add_argument('--adaptive', action='store_true')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    model = build_model(args.backbone).to(args.device).train()
    batch = make_batch(args.batch_size, args.img_size)
    runs = {
        'base': make_wrapper(model, False, args.adaptive),
        'sam': make_wrapper(model, True, args.adaptive),
        'floor': TwoPasses(make_wrapper(model, False, args.adaptive)),
    }
    for wrapper in runs.values():  # warm-up
        time_steps(model, wrapper, batch, 2, args.device)
    times = {name: [] for name in runs}
    names = list(runs)
    for r in range(args.rounds):  # the order rotates, so that none always follows another
        for name in names[r % 3:] + names[:r % 3]:
            times[name].append(time_steps(model, runs[name], batch, args.steps, args.device))
    print(f'model: ImageClassifier({args.backbone}) + MultiLabelLinearClsHead, '
          f'batch {args.batch_size} x 3 x {args.img_size}^2, device {args.device}, '
          f'torch threads {torch.get_num_threads()}, median of {args.rounds} rounds '
          f'x {args.steps} steps')
    sam_name = f'SAM (rho 0.05{", adaptive" if args.adaptive else ""})'
    ratios = {}
    for i, clock in enumerate(('wall', 'cpu')):
        if clock == 'cpu' and not args.device.startswith('cpu'):
            continue
        med = {k: statistics.median(t[i] for t in v) for k, v in times.items()}
        # ratios of neighbouring measurements: robust to slow drifts in load
        # per key: (first quartile, median, third quartile) of the per-round ratios
        q = {k: quartiles([s[i] / b[i] for s, b in zip(times['sam'], times[k])])
             for k in ('base', 'floor')}
        ratios[clock] = q['base']
        print(f'[{clock:4s}] base optimizer (SGD): {med["base"] * 1e3:8.1f} ms/step   '
              f'{sam_name}: {med["sam"] * 1e3:8.1f} ms/step   two plain passes: '
              f'{med["floor"] * 1e3:8.1f} ms/step')
        print(f'[{clock:4s}] SAM / base: {q["base"][1]:.3f} (IQR {q["base"][0]:.3f} - '
              f'{q["base"][2]:.3f})   SAM / floor: {q["floor"][1]:.3f} (IQR '
              f'{q["floor"][0]:.3f} - {q["floor"][2]:.3f})   (medians of per-round ratios)')
    key = 'cpu' if 'cpu' in ratios else 'wall'
    lo, ratio, hi = ratios[key]
    print(f'SAM / base ({key} time): {ratio:.3f}, IQR {lo:.3f} - {hi:.3f} (target <= 2.05)')
    return ratio


if __name__ == '__main__':
    main()
