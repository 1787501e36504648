# ASL (Ben-Baruch et al. 2021, https://arxiv.org/abs/2009.14119) as the paper pre-trains on
# OpenImages (arXiv 2209.06585, Sec. 4.3: gamma- 7, gamma+ 0, ASL's clip 0.05), summed over the
# batch as ASL's own code does (see aam_coco.py); BatchSumLoss skips OpenImages' unverified
# labels (target -1). The paper's LR for it is 1e-3.
loss = dict(type='BatchSumLoss',
            loss=dict(type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=7.0, clip=0.05))
