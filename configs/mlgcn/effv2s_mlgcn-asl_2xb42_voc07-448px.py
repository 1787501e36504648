# ML-GCN (Chen et al. 2019, https://arxiv.org/abs/1904.03582) on
# EfficientNetV2-s, Pascal VOC 2007, 448 px, ASL, the paper's recipe
# (Prokofiev & Sovrasov 2022, Table 3 / Table 8 "ML-GCN EfficientNet-V2-s").
# The head, its label graph (built from this config's training dataset) and its
# loss, and how to switch to AAM: ../_base_/models/heads/mlgcn.py.
_base_ = [
    '../_base_/datasets/voc07_448_difficult-as-negative.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/mlgcn.py',
    '../_base_/models/losses/asl_paper.py',
    '../_base_/schedules/paper_recipe_asl.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}})))
# the paper's figures for this row (mAP; GFLOPs with the paper's counter)
paper_reference = dict(table='Table 3', mAP=95.25, gflops=10.83, shape=448)
