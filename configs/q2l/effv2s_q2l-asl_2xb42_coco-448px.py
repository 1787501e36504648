# Query2Label (Liu et al. 2021, https://arxiv.org/abs/2107.10834) on
# EfficientNetV2-s, MS-COCO 2017, 448 px, ASL, the paper's recipe
# (Prokofiev & Sovrasov 2022, Table 2 "Q2L EfficientNet-V2-s" row).
# The head (the authors' build for this backbone) and its loss, and how to switch
# to AAM: ../_base_/models/effv2s_q2l_asl.py.
_base_ = [
    '../_base_/datasets/coco_448.py',
    '../_base_/models/effv2s_q2l_asl.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(head=dict(num_classes=80))
# the paper's ASL peak LR (Sec. 4.4): 1e-4
optim_wrapper = dict(optimizer=dict(lr=0.0001))
param_scheduler = dict(eta_max=0.0001)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 2', mAP=87.35, gflops=16.25, shape=448)
