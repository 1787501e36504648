from ..utils import torch_compat  # noqa: F401  (MMEngine checkpoints on torch >= 2.6)
from .averaged_models import *  # noqa: F401,F403
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403
