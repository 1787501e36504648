# The demos' schedule: AdamW (adamw.py) with one epoch of linear warm-up and cosine decay over
# 6 epochs, the best mAP checkpoint kept, the chance level in the summary. Includes MMPretrain's
# default runtime (do not list that one again; for TensorBoard swap it for
# ../default_runtime_tensorboard.py, or pass tools/train.py --tensorboard).
_base_ = ['mmpretrain::_base_/default_runtime.py', './adamw.py']

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, eta_min=1e-4),
]
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/mAP', rule='greater'),
)
# ConfigCheckHook: the splits' class lists, num_classes and a cosine loss in a logit head are
# checked before the run (also under MMPretrain's stock tools)
custom_hooks = [dict(type='TrainingSummaryHook', key='multi-label/mAP'),
                dict(type='ConfigCheckHook')]
randomness = dict(seed=0, deterministic=False)
