# MMPretrain's default runtime with TensorBoard logging: put this file in a
# config's _base_ in place of 'mmpretrain::_base_/default_runtime.py' to log
# the training loss, learning rate and validation metrics to TensorBoard as
# well as to the JSON log, through MMEngine's TensorboardVisBackend (needs the
# tensorboard package: setup.py extra `tensorboard`). Events go to
# <work_dir>/<timestamp>/vis_data/: `tensorboard --logdir work_dirs`.
# Any config: `tools/train.py CONFIG --tensorboard` adds the same backend.
_base_ = ['mmpretrain::_base_/default_runtime.py']

visualizer = dict(
    type='UniversalVisualizer',
    vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
