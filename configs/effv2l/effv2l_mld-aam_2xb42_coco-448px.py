# EfficientNetV2-L + ML-Decoder (cosine) + AAM, the paper's recipe.
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/backbones/effv2l.py',
    '../_base_/models/heads/ml_decoder_cosine.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
optim_wrapper = dict(optimizer=dict(lr=0.007))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=90.1, gflops=49.92, shape=448)
