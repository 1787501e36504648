"""Per-class decision thresholds that maximise each class's F1.

Sec. 6.2 and Table 10 of `Prokofiev & Sovrasov 2022
<https://arxiv.org/abs/2209.06585>`_: tune on the training split scored
without training augmentation, then report OF1/CF1 on validation with the
tuned thresholds. ``tools/tune_thresholds.py`` drives both passes.
"""
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS

from mmpretrain_multilabel.utils.thresholds import save_thresholds

from ..functional import tune_and_evaluate
from .multilabel_suite import MultiLabelSuite

__all__ = ['ThresholdTuningMetric']


@METRICS.register_module()
class ThresholdTuningMetric(MultiLabelSuite):
    """Tune per-class thresholds on the evaluated data and report the suite.

    Evaluate it on the *training* split with the test pipeline: per class,
    the threshold maximising F1 (``2 Nc / (Np + Ng)``, exact over all
    distinct scores, see
    :func:`~mmpretrain_multilabel.evaluation.functional.tune_thresholds`) is
    chosen; a class without positives keeps ``thr``. The tuned thresholds
    are written to ``out_file`` (class name -> threshold) and kept in
    :attr:`thresholds`. Reported: the :class:`MultiLabelSuite` keys at
    ``thr`` and, with the ``-adapt`` suffix, at the tuned thresholds (on the
    same data, so ``OF1-adapt`` here is the fit on the tuning split; report
    validation numbers with ``MultiLabelSuite(adapt_thr=out_file)``).

    Args:
        out_file (str, optional): Where to write the thresholds JSON.
        **kwargs: :class:`MultiLabelSuite` arguments (``thr`` is the default
            threshold; ``adapt_thr`` is not accepted).
    """

    def __init__(self, out_file: Optional[str] = None, **kwargs) -> None:
        if kwargs.get('adapt_thr', None) is not None:
            raise ValueError('ThresholdTuningMetric computes the adapted '
                             'thresholds itself; do not pass adapt_thr')
        super().__init__(**kwargs)
        self.out_file = out_file
        self.thresholds: Optional[List[float]] = None

    def compute_metrics(self, results: List[dict]) -> Dict[str, object]:
        scores, targets = self.stack(results)
        k = scores.shape[1]
        default = self.resolve_thresholds(self.thr, k)
        tuned, metrics = tune_and_evaluate(
            scores, targets, default=default, topk=self.topk,
            topk_thr=self.topk_thr, empty_class=self.empty_class,
            classwise=self.needs_classwise)
        self.thresholds = tuned.tolist()
        if self.out_file is not None:
            classes = self.classes or [str(i) for i in range(k)]
            if osp.dirname(self.out_file):
                os.makedirs(osp.dirname(self.out_file), exist_ok=True)
            save_thresholds(self.out_file, classes, self.thresholds)
            MMLogger.get_current_instance().info(
                f'ThresholdTuningMetric: {k} thresholds written to '
                f'{self.out_file}')
        self.maybe_plot(scores, targets, metrics, np.asarray(self.thresholds))
        self.maybe_report(results, scores, targets, metrics, default,
                          self.thresholds)
        if not self.classwise:
            metrics.pop('AP_classwise', None)
        return metrics
