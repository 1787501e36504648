# AAM with the paper's Pascal VOC 2007 setting (arXiv 2209.06585, Sec. 4.2-4.3): s 17,
# gamma- 2, gamma+ 1; summed over the batch. See aam_coco.py.
loss = dict(type='BatchSumLoss', loss=dict(
    type='AAMLoss', s=17.0, m=0.0, k=0.7, gamma_neg=2.0, gamma_pos=1.0, clip=0.0))
