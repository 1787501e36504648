# Demo with the paper's metric-learning loss: L2-normalised (cosine) head and
# the AAM loss (the paper's COCO settings with the demo's scale s=10: aam_coco_s10.py),
# same backbone, data and budget as the stock-head demo.
_base_ = [
    '../_base_/datasets/demo_scenes.py',
    '../_base_/models/backbones/lite0.py',
    '../_base_/models/heads/cosine.py',
    '../_base_/models/losses/aam_coco_s10.py',
    '../_base_/schedules/demo_schedule.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
