from .early_stopping_hook import SmoothedEarlyStoppingHook, smoothed_best_update
from .lr_estimation_hook import (
    LREstimationHook,
    exponential_lrs,
    smooth_losses,
    steepest_descent_lr,
)
from .training_summary_hook import TrainingSummaryHook

__all__ = [
    'SmoothedEarlyStoppingHook', 'smoothed_best_update', 'LREstimationHook',
    'exponential_lrs', 'smooth_losses', 'steepest_descent_lr', 'TrainingSummaryHook'
]
