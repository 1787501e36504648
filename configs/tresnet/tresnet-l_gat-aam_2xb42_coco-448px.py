# TResNet-L (timm `tresnet_v2_l`, 2048 channels), GAT label re-weighting (GAP+GMP of w*f)
# + cosine classifier + AAM, coco 448 px, the paper's recipe (Table 2 "GAT re-weighting
# (ours) TResNet-L"). Starting it from the ML-Decoder release:
# ../_base_/models/backbones/tresnet_l.py.
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/backbones/tresnet_l.py',
    '../_base_/models/heads/gat_cosine.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(
    backbone={{_base_.backbone}},
    neck=dict(in_channels=2048, num_classes={{_base_.num_classes}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes={{_base_.num_classes}}, in_channels=2048, loss={{_base_.loss}}))
load_from = None  # e.g. 'work_dirs/pretrained/ml_decoder_tresnet_l_coco.pth'
optim_wrapper = dict(optimizer=dict(lr=0.007))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=89.95, gflops=35.2, shape=448)
