# Demo with the Query2Label head (cosine group-wise output) and the AAM loss on
# the last feature map of the backbone (no pooling neck); same backbone, data
# and budget as the stock-head demo. The transformer is narrower than the
# paper's (D = 512, FFN 1024) so that CPU training stays quick; at 128 px the
# feature map is 4 x 4.
_base_ = [
    '../_base_/datasets/demo_scenes.py',
    '../_base_/models/backbones/lite0.py',
    '../_base_/models/heads/query2label.py',
    '../_base_/models/losses/aam_coco.py',
    '../_base_/schedules/demo_schedule.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(
        num_classes={{_base_.num_classes}},
        embed_dims=512,
        ffn_dims=1024,
        normalized=True,  # cosine group-wise output for the AAM loss
        loss={{_base_.loss}}))
