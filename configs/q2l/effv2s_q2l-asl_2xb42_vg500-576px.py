# Query2Label (Liu et al. 2021, https://arxiv.org/abs/2107.10834) on
# EfficientNetV2-s, Visual Genome 500, 576 px, ASL, the paper's recipe
# (Prokofiev & Sovrasov 2022, Table 5 "Q2L EfficientNet-V2-s" row).
# The head and its loss: ../_base_/models/effv2s_q2l_asl.py.
_base_ = [
    '../_base_/datasets/vg500_576.py',
    '../_base_/models/effv2s_q2l_asl.py',
    '../_base_/schedules/paper_recipe.py',
]

model = dict(head=dict(num_classes=500))
# the paper's ASL peak LR (Sec. 4.4): 1e-4
optim_wrapper = dict(optimizer=dict(lr=0.0001))
param_scheduler = dict(eta_max=0.0001)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 5', mAP=40.35, gflops=32.81, shape=576)
