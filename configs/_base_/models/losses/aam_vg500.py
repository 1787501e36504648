# AAM with the paper's Visual Genome 500 setting (arXiv 2209.06585, Sec. 4.2-4.3): s 25,
# gamma- 1, gamma+ 0; summed over the batch. See aam_coco.py.
loss = dict(type='BatchSumLoss', loss=dict(
    type='AAMLoss', s=25.0, m=0.0, k=0.7, gamma_neg=1.0, gamma_pos=0.0, clip=0.0))
