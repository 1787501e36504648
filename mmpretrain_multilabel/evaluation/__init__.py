from . import functional, plots
from .chance import chance_map, expected_random_ap
from .functional import multilabel_metrics, tune_thresholds
from .metrics import *  # noqa: F401,F403
from .metrics import __all__ as _metrics_all

__all__ = ['functional', 'plots', 'chance_map', 'expected_random_ap',
           'multilabel_metrics', 'tune_thresholds',
           *_metrics_all]
