from .sam_optim_wrapper import (
    AmpSAMOptimWrapper,
    SAMOptimWrapper,
    frozen_bn_stats,
    sam_perturbation,
)

__all__ = ['SAMOptimWrapper', 'AmpSAMOptimWrapper', 'sam_perturbation', 'frozen_bn_stats']
