# EfficientNetV2-L + ML-Decoder (cosine) + AAM, the paper's recipe.
_base_ = [
    '../_base_/datasets/voc07_448.py',
    '../_base_/models/effv2s_mld_aam.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone=dict(
        arch='l',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/efficient'
            'netv2/efficientnetv2-l_in21k-pre-3rdparty_in1k_20221220-63df0efd.pth',
            prefix='backbone')),
    head=dict(num_classes=20, loss={{_base_.aam_voc}}))
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = dict(eta_max=0.005)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 3', mAP=96.05, gflops=49.92, shape=448)
