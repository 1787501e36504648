from .multilabel_suite import MultiLabelSuite, batch_targets, gt_score_of, interleave_ranks
from .threshold_tuning import ThresholdTuningMetric

__all__ = ['MultiLabelSuite', 'ThresholdTuningMetric', 'batch_targets', 'gt_score_of',
           'interleave_ranks']
