from .eval_cache import EvalCacheMixin, state_key, trace_paused
from .offline_weights import convert_efficientnet_lite0, load_offline_weights
from .pretrained_report import ReportingPretrainedInit, select_weights

__all__ = [
    'EvalCacheMixin', 'state_key', 'trace_paused', 'convert_efficientnet_lite0',
    'load_offline_weights', 'ReportingPretrainedInit', 'select_weights'
]
