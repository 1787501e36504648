"""MMPretrain's ``EMAHook`` with two fixes, registered under its own name.

Importing the plugin registers :class:`MultiLabelEMAHook` as ``'EMAHook'`` in
MMPretrain's hook registry (and as ``'MultiLabelEMAHook'``), so every config
that loads the plugin (``custom_imports=dict(imports=['mmpretrain_multilabel'])``)
gets it from ``dict(type='EMAHook', ...)``, whichever tool runs it: the
project's ``tools/test.py`` and MMPretrain's stock one alike. Everything else
is MMPretrain's hook.

1. **Test-time augmentation.** ``test.py --tta`` wraps the model in a TTA
   model (``AverageClsScoreTTA``). MMPretrain's hook averages
   ``runner.model`` as it finds it, so under TTA its EMA copy's keys become
   ``module.module.*`` while the checkpoint's ``ema_state_dict`` holds
   ``module.*``; it loads with ``strict=False``, nothing matches, and the
   headline metric is the one of an EMA model that was never loaded (below
   the chance level). Here the EMA copy is made of the classifier inside any
   model wrapper and TTA model (:func:`unwrap_model`), so it loads the
   checkpoint's EMA weights whether or not the model is wrapped; a checkpoint
   whose EMA keys still do not match is logged as a warning.
2. **Output files of the raw model's pass.** With ``evaluate_on_ema`` and
   ``evaluate_on_origin`` the hook evaluates the raw model again after the
   EMA pass. Metrics that write files (``ThresholdTuningMetric(out_file=)``,
   ``MultiLabelSuite(plot_dir=, report_dir=)``, the stock tool's ``--out``
   ``DumpResults``) would then overwrite the EMA pass's files with the raw
   model's. The checkpoint's ``state_dict`` is the EMA model, which
   ``tools/infer.py`` and the export use, so the raw pass writes nothing and
   leaves the metrics' tuned ``thresholds`` at the EMA pass's
   (:func:`without_metric_outputs`); its metrics are still logged with the
   ``_origin`` suffix.
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

from mmengine.evaluator import DumpResults, Evaluator
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import MODELS
from mmpretrain.engine.hooks import EMAHook
from mmpretrain.registry import HOOKS
from torch import nn

#: Attributes naming files or folders a metric writes; None turns them off.
OUTPUT_ATTRS = ('out_file', 'plot_dir', 'report_dir')
#: Attributes a metric sets from its last evaluation (kept from the EMA pass).
STATE_ATTRS = ('thresholds', )


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside any model wrappers (DDP, ...) and TTA models.

    Args:
        model (nn.Module): ``runner.model``.

    Returns:
        nn.Module: The innermost model (e.g. the ``ImageClassifier``).
    """
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


@contextmanager
def without_metric_outputs(evaluator: Evaluator) -> Iterator[None]:
    """Within the block, ``evaluator``'s metrics write no files and keep
    their state.

    ``DumpResults`` metrics are left out of the evaluator; other metrics get
    :data:`OUTPUT_ATTRS` set to None and their :data:`STATE_ATTRS` restored
    afterwards. Everything is restored on exit, also after an error.

    Args:
        evaluator (Evaluator): The loop's evaluator.
    """
    metrics = evaluator.metrics
    saved: List[tuple] = []
    for metric in metrics:
        values: Dict[str, object] = {
            name: getattr(metric, name) for name in OUTPUT_ATTRS + STATE_ATTRS
            if getattr(metric, name, None) is not None}
        saved.append((metric, values))
        for name in OUTPUT_ATTRS:
            if name in values:
                setattr(metric, name, None)
    evaluator.metrics = [m for m in metrics if not isinstance(m, DumpResults)]
    try:
        yield
    finally:
        evaluator.metrics = metrics
        for metric, values in saved:
            for name, value in values.items():
                setattr(metric, name, value)


def key_mismatch_message(missing: List[str], unexpected: List[str]) -> Optional[str]:
    """The warning for EMA checkpoint keys that did not load, or None.

    Args:
        missing (list[str]): Keys of the EMA model absent from the checkpoint
            (``num_batches_tracked`` buffers are not counted).
        unexpected (list[str]): Checkpoint keys the EMA model does not have.
    """
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if not missing:
        return None
    return (f'EMAHook: {len(missing)} keys of the EMA model are not in the checkpoint\'s '
            f'ema_state_dict (e.g. {missing[:3]}; {len(unexpected)} checkpoint keys unused, '
            f'e.g. {unexpected[:3]}): the EMA metrics are those of weights that were not '
            'loaded. Evaluate a checkpoint of this model, or set evaluate_on_ema=False.')


@HOOKS.register_module(name=['EMAHook', 'MultiLabelEMAHook'], force=True)
class MultiLabelEMAHook(EMAHook):
    """MMPretrain's :class:`~mmpretrain.engine.hooks.EMAHook` that averages the
    classifier inside TTA and wrapper models and whose raw-model pass writes
    no files (module docstring). Same arguments as MMPretrain's hook."""

    def before_run(self, runner) -> None:
        """Make the EMA copy of the classifier (not of its TTA wrapper)."""
        self.src_model = unwrap_model(runner.model)
        self.ema_model = MODELS.build(self.ema_cfg, default_args=dict(model=self.src_model))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Load the checkpoint's EMA weights (as MMPretrain's hook) and warn
        when some of the EMA model's keys are not in it."""
        if 'ema_state_dict' not in checkpoint:
            super().after_load_checkpoint(runner, checkpoint)
            return
        self._swap_ema_state_dict(checkpoint)
        result = self.ema_model.load_state_dict(checkpoint['ema_state_dict'],
                                                strict=self.strict_load)
        self.load_ema_from_ckpt = True
        message = key_mismatch_message(result.missing_keys, result.unexpected_keys)
        if message:
            runner.logger.warning(message)

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Swap back; evaluate the raw model writing no metric files."""
        with self._raw_pass_outputs_off(runner.val_loop.evaluator):
            super().after_val_epoch(runner, metrics)

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Swap back; evaluate the raw model writing no metric files."""
        with self._raw_pass_outputs_off(runner.test_loop.evaluator):
            super().after_test_epoch(runner, metrics)

    @contextmanager
    def _raw_pass_outputs_off(self, evaluator: Evaluator) -> Iterator[None]:
        if self.evaluate_on_ema and self.evaluate_on_origin:
            with without_metric_outputs(evaluator):
                yield
        else:
            yield
