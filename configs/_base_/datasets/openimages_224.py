# OpenImages V6, the paper's pre-training data (Sec. 4.1 / 4.3): the precisely annotated
# (boxable) subset, 601 classes, original train + test joined for training (1.87M
# images), validation for testing (41k), 224 px, the paper's augmentation. Unverified
# labels get gt_score -1 and are ignored by the loss and the metrics
# (mmpretrain_multilabel/datasets/openimages.py; layout of data_root there).
_base_ = ['./multilabel_448.py']

img_size = 224
train_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in _base_.test_pipeline
]

dataset_type = 'OpenImagesMultiLabel'
data_root = 'data/openimages'
num_classes = 601

data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    batch_size=64,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',  # + the official test part (join_test=True)
        pipeline=train_pipeline),
)

val_dataloader = dict(
    batch_size=64,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        test_mode=True,
        pipeline=test_pipeline),
)
test_dataloader = val_dataloader
