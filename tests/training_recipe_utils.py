"""Shared helpers of the training-recipe tests (SAM, early stopping, LR
estimation, classifier transfer): a tiny config on the embedded demo dataset,
runners of ``tools/train.py`` for 1 process (in-process) and 2 processes (CPU
DDP), and a stand-in runner for ``before_train`` hooks."""
import logging
import os
import os.path as osp
import socket
import subprocess
from types import SimpleNamespace

import torch

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RECIPE = osp.join(ROOT, 'configs', '_base_', 'schedules', 'paper_recipe.py')

TINY_CONFIG = '''
_base_ = [{recipe!r}]
custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                  num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1, ),
                  norm_cfg=dict(type={norm!r}, {norm_args})),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MultiLabelLinearClsHead', num_classes=14, in_channels=16),
)
data_preprocessor = dict(num_classes=14, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0,
    dataset=dict(type='DemoScenes', data_root={data_root!r}, split='train',
                 num_images={num_images}, img_size=64, pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='DemoScenes', data_root={data_root!r}, split='val',
                 num_images=16, img_size=64, pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='AveragePrecision')
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = dict(total_steps={total_epochs})  # peaks at the optimizer's lr
train_cfg = dict(max_epochs={max_epochs})
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(max_keep_ckpts={keep_ckpts}),
                     visualization=dict(type='VisualizationHook', enable=False))
custom_hooks = [
    dict(type='EMAHook', momentum=0.2, evaluate_on_ema=True, evaluate_on_origin=True),
    dict(type='SmoothedEarlyStoppingHook', monitor='multi-label/mAP', patience={patience}),
    dict(type='LREstimationHook', enabled={lr_estimation}, min_lr=1e-3, max_lr=1.0,
         num_iters=6, skip_start=1, skip_end=1, smooth_f=0.5, seed=3),
]
randomness = dict(seed=0)
'''


def write_tiny_config(path, data_root, *, norm='BN', batch_size=8, num_images=16,
                      max_epochs=3, total_epochs=None, patience=5,
                      lr_estimation=False, keep_ckpts=1, extra=''):
    """Write the tiny recipe config (2 iterations per epoch at batch 8)."""
    norm_args = 'num_groups=4' if norm == 'GN' else 'requires_grad=True'
    text = TINY_CONFIG.format(
        recipe=RECIPE, norm=norm, norm_args=norm_args, batch_size=batch_size,
        data_root=str(data_root), num_images=num_images, max_epochs=max_epochs,
        total_epochs=total_epochs or max_epochs, patience=patience,
        lr_estimation=lr_estimation, keep_ckpts=keep_ckpts) + extra
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def load_train_tool():
    """``tools/train.py`` as a module (its ``main``/``parse_args``)."""
    return load_script('tools/train.py')


def train_1proc(config, work_dir, *extra):
    """Run ``tools/train.py`` in this process; return the runner."""
    from mmengine.logging import MMLogger
    runner = load_train_tool().main([config, '--work-dir', str(work_dir), *extra])
    # each runner adds a file handler to a new logger instance; close them
    for handler in list(MMLogger.get_current_instance().handlers):
        if hasattr(handler, 'baseFilename'):
            handler.close()
    return runner


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train_2proc(config, work_dir, *extra, timeout=240):
    """Run ``bash tools/dist_train.sh CONFIG 2`` (CPU, gloo)."""
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, '2',
         '--work-dir', str(work_dir), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'dist_train.sh failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}')
    return proc


def load_ckpt(path):
    return torch.load(path, map_location='cpu', weights_only=False)  # runner checkpoints


def fake_runner(model, classes, loaded=False):
    """What a ``before_train`` hook reads of a runner that starts training
    ``model`` on a dataset of ``classes``."""
    return SimpleNamespace(
        model=model, _has_loaded=loaded, iter=0,
        logger=logging.getLogger('mmpretrain_multilabel.tests'),
        train_dataloader=SimpleNamespace(dataset=SimpleNamespace(metainfo=dict(classes=classes))))
