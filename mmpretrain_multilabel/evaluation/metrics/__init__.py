from .multilabel_suite import MultiLabelSuite, gt_score_of
from .threshold_tuning import ThresholdTuningMetric

__all__ = ['MultiLabelSuite', 'ThresholdTuningMetric', 'gt_score_of']
