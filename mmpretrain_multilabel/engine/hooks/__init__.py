from .classifier_transfer_hook import ClassifierTransferHook, source_classifier
from .config_check_hook import (
    ConfigCheckError,
    ConfigCheckHook,
    check_cosine_losses,
    check_num_classes,
    check_split_classes,
)
from .early_stopping_hook import SmoothedEarlyStoppingHook, smoothed_best_update
from .ema_hook import MultiLabelEMAHook, unwrap_model, without_metric_outputs
from .exact_resume_hook import (
    CheckpointMismatchError,
    ExactResumeHook,
    check_resume_checkpoint,
    get_rng_states,
    set_rng_states,
    state_dict_mismatches,
)
from .lr_estimation_hook import (
    LREstimationHook,
    exponential_lrs,
    smooth_losses,
    steepest_descent_lr,
)
from .training_summary_hook import TrainingSummaryHook
from .wiseft_hook import WiSEFTHook

__all__ = [
    'ClassifierTransferHook', 'source_classifier', 'SmoothedEarlyStoppingHook',
    'smoothed_best_update', 'LREstimationHook',
    'exponential_lrs', 'smooth_losses', 'steepest_descent_lr', 'CheckpointMismatchError',
    'ExactResumeHook', 'check_resume_checkpoint', 'get_rng_states', 'set_rng_states',
    'state_dict_mismatches', 'TrainingSummaryHook', 'MultiLabelEMAHook', 'unwrap_model',
    'without_metric_outputs', 'ConfigCheckError', 'ConfigCheckHook', 'check_cosine_losses',
    'check_num_classes', 'check_split_classes', 'WiSEFTHook'
]
