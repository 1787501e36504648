"""Average the fine-tuned weights with the start of training (WiSE-FT) when
training ends, and save the result as a checkpoint of its own."""
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.hooks import EMAHook, Hook
from mmpretrain.registry import HOOKS

from ...models.utils.weight_interpolation import float_state, interpolate_weights_
from .ema_hook import unwrap_model

#: Checkpoint key of the start weights (kept so that a resumed run averages
#: with the same start).
START_KEY = 'wiseft_start'


@HOOKS.register_module()
class WiSEFTHook(Hook):
    """Weight-space ensemble of the start and the fine-tuned model.

    `Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022
    <https://arxiv.org/abs/2109.01903>`_: when training ends, every
    floating-point weight and buffer becomes ``(1 - alpha) * start + alpha *
    final`` (the raw model and, where an ``EMAHook`` keeps one, the EMA
    model, each with the same start), and the result is saved as
    ``<work_dir>/wiseft.pth`` (read by ``tools/test.py`` and
    ``tools/infer.py``); the other checkpoints keep the fine-tuned weights.
    The start is the model as training starts, after every other hook's
    ``before_train`` (the classifier transferred and fitted by
    ``ClassifierTransferHook``): the hook runs last. It is stored in the
    checkpoints training saves, so a resumed run averages with the same
    start.

    On 210 coco319 photos the recipe's 12 epochs moved the fitted start's
    held-out mAP little and, with fewer photos, down; the halfway average
    kept the start's and added to it (docs/results.md, "Real photos:
    coco319").

    Args:
        alpha (float): Weight of the fine-tuned model, in ``(0, 1]``; 0.5,
            WiSE-FT's default without a validation set to choose it on.
            Defaults to 0.5.
        filename (str): Name of the checkpoint written in the work dir.
            Defaults to ``'wiseft.pth'``.
    """

    priority = 'LOWEST'

    def __init__(self, alpha: float = 0.5, filename: str = 'wiseft.pth'):
        if not isinstance(alpha, (int, float)) or not 0. < alpha <= 1.:
            raise ValueError(f'WiSEFTHook: alpha must be in (0, 1] (the fine-tuned '
                             f"model's weight), got {alpha!r}")
        self.alpha = float(alpha)
        self.filename = filename
        self.start: Optional[Dict[str, torch.Tensor]] = None
        self.saved: Optional[str] = None  # the averaged checkpoint, once written
        self._resumed = False

    def before_train(self, runner) -> None:
        if self._resumed:
            return  # the start came with the checkpoint
        if runner.iter > 0:
            runner.logger.warning(
                'WiSEFTHook: the run resumed from a checkpoint without the start '
                f'weights ({START_KEY!r}); the weights are not averaged at the end')
            return
        self.start = float_state(unwrap_model(runner.model))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.start is not None and not checkpoint.get('meta', {}).get('wiseft'):
            checkpoint[START_KEY] = {k: v.cpu() for k, v in self.start.items()}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False) and START_KEY in checkpoint:
            self.start = checkpoint[START_KEY]
            self._resumed = True

    def after_train(self, runner) -> None:
        if self.start is None:
            return
        models = [unwrap_model(runner.model)]
        models += [h.ema_model.module for h in runner.hooks if isinstance(h, EMAHook)]
        for model in models:
            interpolate_weights_(model, self.start, self.alpha)
        runner.save_checkpoint(runner.work_dir, self.filename, save_optimizer=False,
                               save_param_scheduler=False, meta=dict(wiseft=self.alpha))
        self.saved = osp.join(runner.work_dir, self.filename)
        runner.logger.info(
            f'WiSEFTHook: the weights averaged with the start of training ({self.alpha:g} x '
            f'final + {1 - self.alpha:g} x start) saved as {self.saved} (tools/test.py CONFIG '
            'that file scores it; the other checkpoints hold the fine-tuned weights)')
