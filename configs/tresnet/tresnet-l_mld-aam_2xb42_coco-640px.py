# TResNet-L (timm `tresnet_v2_l`, 2048 channels) + ML-Decoder (cosine) + AAM, MS-COCO at
# 640 px, the paper's recipe (Table 2 "ML-Decoder + AAM (ours) TResNet-L 640x640"). The
# paper initialised it from the ML-Decoder release: ../_base_/models/backbones/tresnet_l.py.
# Lower the batch if 42 images of 640 px do not fit a GPU.
_base_ = [
    '../_base_/datasets/coco_640.py',
    '../_base_/models/backbones/tresnet_l.py',
    '../_base_/models/heads/ml_decoder_cosine.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, in_channels=2048, loss={{_base_.loss}}))
load_from = None  # e.g. 'work_dirs/pretrained/ml_decoder_tresnet_l_coco.pth'
optim_wrapper = dict(optimizer=dict(lr=0.007))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=91.3, gflops=73.42, shape=640)
