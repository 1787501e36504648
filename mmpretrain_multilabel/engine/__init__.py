from ..utils import torch_compat  # noqa: F401  (MMEngine checkpoints on torch >= 2.6)
from .hooks import *  # noqa: F401,F403
from .hooks.training_summary_hook import TrainingSummaryHook  # noqa: F401
from .optimizers import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403
