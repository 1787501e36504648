# Demo baseline: MMPretrain's stock multilabel head and ASL on the embedded
# synthetic scenes, EfficientNet-Lite0 (offline ImageNet weights), CPU friendly.
_base_ = [
    '../_base_/datasets/demo_scenes.py',
    '../_base_/models/backbones/lite0.py',
    '../_base_/models/heads/linear.py',
    '../_base_/models/losses/asl.py',
    '../_base_/schedules/demo_schedule.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
