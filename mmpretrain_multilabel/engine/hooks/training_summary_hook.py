"""Print a short summary when training ends: best metric, checkpoints, next
commands."""
import os.path as osp
import time
from typing import Dict, Optional

from mmengine.dist import master_only
from mmengine.hooks import CheckpointHook, Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class TrainingSummaryHook(Hook):
    """Log the best validation score, where the checkpoints are and how to
    evaluate and run inference with them.

    Args:
        key (str): Metric to rank epochs by, as logged by the evaluator
            (e.g. ``'multi-label/mAP'``). Defaults to the first metric.
        rule (str): ``'greater'`` or ``'less'``. Defaults to ``'greater'``.
    """

    priority = 'VERY_LOW'

    def __init__(self, key: Optional[str] = None, rule: str = 'greater'):
        if rule not in ('greater', 'less'):
            raise ValueError(f"rule must be 'greater' or 'less', got {rule!r}")
        self.key = key
        self.rule = rule
        self.best: Optional[Dict] = None
        self.last: Optional[Dict] = None
        self.start = time.time()

    def before_run(self, runner) -> None:
        self.start = time.time()

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        if not metrics:
            return
        key = self.key or next(iter(metrics))
        if key not in metrics:
            raise KeyError(f'TrainingSummaryHook: metric {key!r} not among '
                           f'{sorted(metrics)}')
        self.key = key
        self.last = dict(metrics, epoch=runner.epoch)
        better = (self.best is None or
                  (metrics[key] > self.best[key] if self.rule == 'greater'
                   else metrics[key] < self.best[key]))
        if better:
            self.best = dict(metrics, epoch=runner.epoch)

    @master_only
    def after_run(self, runner) -> None:
        if runner.iter == 0:  # a test run, or nothing trained
            return
        minutes = (time.time() - self.start) / 60
        lines = [f'Training finished in {minutes:.1f} min '
                 f'({runner.epoch} epochs, {runner.iter} iterations).']
        if self.best is not None:
            lines.append(f'Best {self.key}: {self.best[self.key]:.2f} '
                         f"(epoch {self.best['epoch']}); last: "
                         f'{self.last[self.key]:.2f}.')
        ckpt = self._checkpoint(runner)
        if ckpt:
            config = runner.cfg.filename or 'CONFIG'
            lines += [
                f'Checkpoint: {ckpt}',
                f'Evaluate:   python tools/test.py {config} {ckpt}',
                f'Predict:    python tools/infer.py {config} {ckpt} IMAGES...',
            ]
        runner.logger.info('\n'.join(['', '=' * 60] + lines + ['=' * 60]))

    def _checkpoint(self, runner) -> Optional[str]:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                best = getattr(hook, 'best_ckpt_path', None) or getattr(
                    hook, 'best_ckpt_path_dict', {}).get(self.key)
                if best:
                    return best
        last = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.exists(last):
            with open(last) as f:
                return f.read().strip()
        return None
