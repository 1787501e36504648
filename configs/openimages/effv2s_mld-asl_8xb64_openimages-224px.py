# OpenImages V6 pre-training of the paper (Prokofiev & Sovrasov 2022, Sec. 4.3):
# EfficientNetV2-s + ML-Decoder, 224 px, ASL gamma+ 0 / gamma- 7, lr 1e-3, 50 epochs of
# OneCycle, with the recipe of the paper's ASL rows (SAM over Adam, no bias decay, EMA, early
# stopping). 8 GPUs x 64 images:
#     bash tools/dist_train.sh configs/openimages/effv2s_mld-asl_8xb64_openimages-224px.py 8
#     GPUS=8 bash tools/slurm_train.sh PARTITION oi \
#         configs/openimages/effv2s_mld-asl_8xb64_openimages-224px.py work_dirs/oi
# Its checkpoint starts the backbone of any paper row
# (effv2s_mld-aam_2xb42_coco-448px_oi-init.py shows how).
_base_ = [
    '../_base_/datasets/openimages_224.py',
    '../_base_/models/backbones/effv2s.py',
    '../_base_/models/heads/ml_decoder.py',
    '../_base_/models/losses/asl_openimages.py',
    '../_base_/schedules/paper_recipe_asl.py',
]

model = dict(
    backbone={{_base_.backbone}},
    head=dict(num_classes={{_base_.num_classes}}, loss={{_base_.loss}}))
max_epochs = 50
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(total_steps=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
# the paper gives no figure for the pre-training itself
paper_ablation = dict(section='4.3', shape=224)
