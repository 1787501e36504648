# What the 448-px multilabel dataset bases share: the paper's augmentation, ImageNet
# normalisation with one-hot targets, 42 images per GPU (the paper's 84 on 2 GPUs; scale
# the LR if you change the total) and the metric suite: mAP (a class without positives
# counts as AP 0), CP/CR/CF1 and OP/OR/OF1 at 0.5 and at top-3 in one pass, ignored (-1)
# and VOC-difficult labels excluded. A dataset base lists this file and sets
# `data_preprocessor.num_classes` and the `dataset` of each dataloader.
_base_ = ['./pipelines/paper_aug.py']

custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)

data_preprocessor = dict(
    # RGB format normalization parameters (ImageNet)
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    # one-hot targets for multilabel classification
    to_onehot=True,
)

train_dataloader = dict(
    batch_size=42, num_workers=8, sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=42, num_workers=8, sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader

val_evaluator = dict(type='MultiLabelSuite')
test_evaluator = val_evaluator
