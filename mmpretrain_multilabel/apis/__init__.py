"""Package APIs behind the command-line tools (the top layer, as
``mmpretrain.apis``): label graphs built before a model
(:mod:`.label_graphs`), the train / test launch helpers (:mod:`.launch`),
the multilabel inferencer with MMPretrain's API (:mod:`.inferencer`,
registered in MMEngine's ``INFERENCERS`` when this package is imported),
inference on image files (:mod:`.inference`) and FLOP counting
(:mod:`.complexity`). Not imported by ``import mmpretrain_multilabel``.
"""
from .complexity import build_inference_model, flop_analyzer, model_complexity
from .inferencer import MultiLabelClassificationInferencer
from .label_graphs import (
    prepare_label_graphs,
    prototypes_from_checkpoint,
    use_random_label_graphs,
)
from .launch import (
    build_runner,
    enable_amp,
    enable_exact_resume,
    enable_tensorboard,
    init_distributed,
    load_config,
    merge_test_args,
    merge_train_args,
    parse_with_launcher,
    prepare_dataloaders,
    setup_work_dir,
)

__all__ = [
    'build_inference_model', 'flop_analyzer', 'model_complexity',
    'MultiLabelClassificationInferencer', 'prepare_label_graphs',
    'prototypes_from_checkpoint', 'use_random_label_graphs', 'build_runner', 'enable_amp',
    'enable_exact_resume', 'enable_tensorboard', 'init_distributed', 'load_config',
    'merge_test_args', 'merge_train_args', 'parse_with_launcher', 'prepare_dataloaders',
    'setup_work_dir'
]
