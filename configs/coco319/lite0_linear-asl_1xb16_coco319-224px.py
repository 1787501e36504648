# Stock MMPretrain on real photos: EfficientNet-Lite0 (offline ImageNet weights, blocks 0-5
# frozen) + GAP + MMPretrain's linear head and ASL, AdamW with cosine decay: the best simple
# optimizer setting of the search in docs/results.md. The baseline of benchmarks/coco_cv.py.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/datasets/coco319_224.py',
    '../_base_/models/backbones/lite0_frozen-b0-5.py',
    '../_base_/models/heads/linear.py',
    '../_base_/models/losses/asl.py',
    '../_base_/schedules/adamw.py',
]

max_epochs = 12

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))

param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, eta_min=1e-5,
                       convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=2),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/mAP', rule='greater'))
custom_hooks = [dict(type='TrainingSummaryHook', key='multi-label/mAP'),
                dict(type='ConfigCheckHook')]
randomness = dict(seed=0, deterministic=False)
