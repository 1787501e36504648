from .launch import (
                     enable_amp,
                     enable_exact_resume,
                     enable_tensorboard,
                     init_distributed,
                     parse_with_launcher,
                     prepare_dataloaders,
                     setup_work_dir,
)
from .thresholds import load_thresholds, save_thresholds

__all__ = [
    'enable_amp', 'enable_exact_resume', 'enable_tensorboard', 'init_distributed',
    'parse_with_launcher',
    'prepare_dataloaders', 'setup_work_dir', 'load_thresholds', 'save_thresholds'
]
