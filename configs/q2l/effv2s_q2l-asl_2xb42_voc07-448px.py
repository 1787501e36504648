# Query2Label (Liu et al. 2021, https://arxiv.org/abs/2107.10834) on
# EfficientNetV2-s, Pascal VOC 2007, 448 px, ASL, the paper's recipe
# (Prokofiev & Sovrasov 2022, Table 3 "Q2L EfficientNet-V2-s" row).
# The head (the authors' build for this backbone) and its loss, and how to switch
# to AAM: ../_base_/models/effv2s_q2l_asl.py.
_base_ = [
    '../_base_/datasets/voc07_448.py',
    '../_base_/models/effv2s_q2l_asl.py',
    '../_base_/schedules/paper_recipe.py',
]

# ASL does not skip -1 targets: train with "difficult" labels as negatives
# (VOC's convention); evaluation still excludes them.
train_pipeline = [
    dict(t, ignore_as=0) if t['type'] == 'MarkIgnoredLabels' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

model = dict(head=dict(num_classes=20))
# the paper's ASL peak LR (Sec. 4.4): 1e-4
optim_wrapper = dict(optimizer=dict(lr=0.0001))
param_scheduler = dict(eta_max=0.0001)
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 3', mAP=94.94, gflops=15.40, shape=448)
