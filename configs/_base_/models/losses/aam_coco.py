# The paper's AAM loss (asymmetric angular margin; Prokofiev & Sovrasov 2022, arXiv
# 2209.06585, Sec. 3.1 and 4.2-4.3) with its MS-COCO setting: s 23, gamma- 1, gamma+ 0.
# Gamma naming follows ASL: `gamma_neg` focuses the negatives (the paper prints the exponents
# crossed). m = 0 and k = 0.7 are shared by all experiments; clip = 0 is eq. 1.
# Every loss of the paper's rows is wrapped in BatchSumLoss: summed over the batch, as the
# authors' AMBinaryLoss and ASL's AsymmetricLoss are, so that SGD with the paper's learning
# rates takes the authors' step (MMPretrain's heads average over the batch;
# docs/training_strategy.md).
# A loss base defines `loss` only; the config sets `head=dict(loss={{_base_.loss}})`.
loss = dict(type='BatchSumLoss', loss=dict(
    type='AAMLoss', s=23.0, m=0.0, k=0.7, gamma_neg=1.0, gamma_pos=0.0, clip=0.0))
