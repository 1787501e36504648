# Query2Label (Liu et al. 2021, https://arxiv.org/abs/2107.10834) on
# EfficientNetV2-s, Visual Genome 500, 576 px, ASL, the paper's recipe
# (Prokofiev & Sovrasov 2022, Table 5 "Q2L EfficientNet-V2-s" row).
# The head (the authors' build for this backbone) and its loss, and how to switch
# to AAM: ../_base_/models/heads/query2label.py.
_base_ = [
    '../_base_/datasets/vg500_576.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/query2label.py',
    '../_base_/models/losses/asl_paper.py',
    '../_base_/schedules/paper_recipe_asl.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 5', mAP=40.35, gflops=32.81, shape=576)
