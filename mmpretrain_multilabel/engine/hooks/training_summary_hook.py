"""Print a short summary when training ends: best metric against the chance
level, checkpoints, next commands; warn once when a run is not learning."""
import os.path as osp
import time
from typing import Dict, List, Optional

import numpy as np
from mmengine.dist import master_only
from mmengine.hooks import CheckpointHook, Hook
from mmpretrain.registry import HOOKS

from ...datasets import label_matrix
from ...evaluation import chance_map
from .wiseft_hook import WiSEFTHook

#: What usually keeps a multilabel run at chance level, named in the warning.
NOT_LEARNING_CAUSES = (
    'the learning rate against the loss reduction (MMPretrain heads average the loss over the '
    "batch; the paper's SGD learning rates belong to a batch-summed loss: wrap the loss in "
    "BatchSumLoss or scale the LR), an EMA whose momentum is too small for the run's length "
    '(its weights stay at initialisation), a frozen or randomly initialised backbone, or '
    "labels that do not match the classes (check the dataset's class list and annotations)")


def val_label_matrix(dataset) -> Optional[np.ndarray]:
    """``[N, K]`` labels of a multilabel dataset (None if it has none)."""
    classes = getattr(dataset, 'CLASSES', None) or dataset.metainfo.get('classes')
    if not classes or not hasattr(dataset, 'get_data_info'):
        return None
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    if not infos or 'gt_label' not in infos[0]:
        return None
    return label_matrix(infos, len(classes))


def saved_config(work_dir: str, filename: Optional[str], timestamp: str) -> str:
    """The config the runner saved in ``work_dir`` (the run's config with its
    ``--cfg-options`` merged: MMEngine's ``Runner.dump_config`` names it after
    the config file, else after the timestamp); the config file itself if
    there is none, ``'CONFIG'`` without either.

    Args:
        work_dir (str): The run's work directory.
        filename (str, optional): The config file the run was started with.
        timestamp (str): The run's timestamp.
    """
    name = osp.basename(filename) if filename else f'{timestamp}.py'
    saved = osp.join(work_dir, name)
    return saved if osp.isfile(saved) else (filename or 'CONFIG')


@HOOKS.register_module()
class TrainingSummaryHook(Hook):
    """Log the best validation score, where the checkpoints are and how to
    evaluate and run inference with them (with the config saved in the work
    directory, which holds the run's ``--cfg-options``: :func:`saved_config`).

    For an mAP key it also gives the chance level of the validation set (the
    expected mAP of a random ranking, :func:`~..evaluation.chance_map`, with
    the evaluator's rule for classes without positives) and, once per run,
    warns plainly when every evaluation after the warm-up stays within
    ``chance_margin`` mAP points of it: the model is not learning.

    Args:
        key (str): Metric to rank epochs by, as logged by the evaluator
            (e.g. ``'multi-label/mAP'``). Defaults to the first metric.
        rule (str): ``'greater'`` or ``'less'``. Defaults to ``'greater'``.
        chance_margin (float): mAP points above the chance level under which
            a run counts as not learning. Defaults to 3.0.
        warmup (float): Fraction of the training epochs after which the
            check starts (at least one epoch). Defaults to 0.25.
    """

    priority = 'VERY_LOW'

    def __init__(self, key: Optional[str] = None, rule: str = 'greater',
                 chance_margin: float = 3.0, warmup: float = 0.25):
        if rule not in ('greater', 'less'):
            raise ValueError(f"rule must be 'greater' or 'less', got {rule!r}")
        if not (isinstance(chance_margin, (int, float)) and chance_margin >= 0):
            raise ValueError(f'chance_margin must be a number >= 0, got {chance_margin!r}')
        if not (isinstance(warmup, (int, float)) and 0 <= warmup < 1):
            raise ValueError(f'warmup must be a fraction in [0, 1), got {warmup!r}')
        self.key = key
        self.rule = rule
        self.chance_margin = float(chance_margin)
        self.warmup = float(warmup)
        self.best: Optional[Dict] = None
        self.last: Optional[Dict] = None
        self.chance: Optional[float] = None
        self.after_warmup: List[float] = []
        self.warned = False
        self.start = time.time()

    def before_run(self, runner) -> None:
        self.start = time.time()

    def before_train(self, runner) -> None:
        if runner.val_loop is None:
            return
        labels = val_label_matrix(runner.val_loop.dataloader.dataset)
        if labels is None or not (labels == 1).any():
            return
        rules = [getattr(m, 'empty_class', 'zero') for m in runner.val_loop.evaluator.metrics]
        self.chance = chance_map(labels, rules[0] if rules else 'zero')

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
        self.check_learning(runner, metrics)

    def check_learning(self, runner, metrics: Dict) -> None:
        """Warn once if every mAP after the warm-up is near the chance level."""
        if self.chance is None or self.warned or 'mAP' not in self.key:
            return
        max_epochs = getattr(runner.train_loop, 'max_epochs', None) or 1
        if runner.epoch < max(1, self.warmup * max_epochs):
            return
        # the raw and the EMA model both count (MMPretrain's EMAHook logs both)
        scores = [v for k, v in metrics.items() if k.startswith(self.key)
                  and isinstance(v, (int, float))]
        self.after_warmup.append(max(scores))
        if max(self.after_warmup) < self.chance + self.chance_margin:
            self.warned = True
            runner.logger.warning(
                f'NOT LEARNING: validation {self.key} {max(self.after_warmup):.2f} after '
                f'{runner.epoch} epochs is within {self.chance_margin:g} points of the chance '
                f'level {self.chance:.2f} (a random ranking of the validation images). Usual '
                f'causes: {NOT_LEARNING_CAUSES}.')

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
            if self.chance is not None:
                lines.append(f'Chance level of the validation set: {self.chance:.2f} (the '
                             f'{self.key} of a random ranking; 100 is perfect).')
        ckpt = self._checkpoint(runner)
        if ckpt:
            config = saved_config(runner.work_dir, runner.cfg.filename, runner.timestamp)
            lines += [
                f'Checkpoint: {ckpt}',
                f'Evaluate:   python tools/test.py {config} {ckpt}',
                f'Predict:    python tools/infer.py {config} {ckpt} IMAGES...',
            ]
        runner.logger.info('\n'.join(['', '=' * 60] + lines + ['=' * 60]))

    def _checkpoint(self, runner) -> Optional[str]:
        for hook in runner.hooks:
            if isinstance(hook, WiSEFTHook) and hook.saved:
                return hook.saved  # the model the config trains for
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
