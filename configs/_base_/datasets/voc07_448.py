# Pascal VOC 2007 through MMPretrain's `VOC`: trainval (5,011) / test (4,952),
# 20 classes, 448 px, the paper's augmentation.
# "Difficult" labels are ignored: MMPretrain's VOC stores classes seen only
# in difficult objects in `gt_label_difficult`; `MarkIgnoredLabels` turns
# them into gt_score = -1, which the AAM loss and the metrics skip. With a
# loss that does not ignore -1 targets (MMPretrain's BCE / ASL), set
# `ignore_as=0` (difficult as negative).
_base_ = ['./multilabel_448.py']

dataset_type = 'VOC'
data_root = 'data/VOC2007'
num_classes = 20

data_preprocessor = dict(num_classes=num_classes)

_mark = [dict(type='MarkIgnoredLabels', num_classes=num_classes)]
train_pipeline = _base_.train_pipeline[:-1] + _mark + _base_.train_pipeline[-1:]
test_pipeline = _base_.test_pipeline[:-1] + _mark + [
    dict(
        type='PackInputs',
        # kept for MMPretrain's VOCMultiLabelMetric / VOCAveragePrecision
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction',
                   'gt_label_difficult')),
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='trainval',
        pipeline=train_pipeline),
)

val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=test_pipeline),
)
test_dataloader = val_dataloader
