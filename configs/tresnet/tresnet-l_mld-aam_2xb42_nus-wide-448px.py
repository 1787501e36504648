# TResNet-L (timm `tresnet_v2_l`, the network of the ML-Decoder release: 2048
# channels) + ML-Decoder (cosine) + AAM, the paper's recipe. The paper
# initialised it from the ML-Decoder release: convert that checkpoint with
# tools/model_converters/ml_decoder_to_mmpretrain.py and set `load_from`.
_base_ = [
    '../_base_/datasets/nus_wide_448.py',
    '../_base_/models/backbones/tresnet_l.py',
    '../_base_/models/heads/ml_decoder_cosine.py',
    '../_base_/models/losses/aam_nus_wide.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, in_channels=2048, loss={{_base_.loss}}))
load_from = None  # e.g. 'work_dirs/pretrained/ml_decoder_tresnet_l_coco.pth'
optim_wrapper = dict(optimizer=dict(lr=0.009))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 4', mAP=68.3, gflops=36.16, shape=448)
