# Demo with the paper's metric-learning loss: L2-normalised (cosine) head and
# the AAM loss (the paper's COCO settings with the demo's scale s=10: `aam_coco_s10`),
# same backbone, data and budget as the stock-head demo.
_base_ = ['./lite0_linear-asl_1xb32_demo-128px.py', '../_base_/models/aam_settings.py']

model = dict(
    head=dict(
        _delete_=True,
        type='MultiLabelCosineClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=1280,
        loss={{_base_.aam_coco_s10}}))
