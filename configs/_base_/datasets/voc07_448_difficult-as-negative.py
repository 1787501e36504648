# Pascal VOC 2007 (voc07_448.py) for losses that cannot skip ignored (-1) targets, such as
# MMPretrain's AsymmetricLoss of the paper's ASL rows: "difficult" labels are negatives in
# training (VOC's convention; `ignore_as=0`); evaluation still excludes them.
_base_ = ['./voc07_448.py']

train_pipeline = [
    dict(t, ignore_as=0) if t['type'] == 'MarkIgnoredLabels' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
