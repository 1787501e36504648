# Visual Genome 500 (SSGRL / C-Tran split: 82,904 train / 10,000 test),
# 448 px, the paper's augmentation. The paper's VG500 rows use 576 px:
# vg500_576.py.
_base_ = ['./multilabel_448.py']

dataset_type = 'VG500MultiLabel'
data_root = 'data/VG'
num_classes = 500

data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=_base_.train_pipeline),
)

val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=_base_.test_pipeline),
)
test_dataloader = val_dataloader
