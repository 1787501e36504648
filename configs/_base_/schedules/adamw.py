# AdamW (lr 1e-3, weight decay 0.01), the optimizer of every demo and of the coco128 stock
# baseline: the cosine heads (AAM) scale their gradients by 1/|feature|, which plain SGD needs
# tens of thousands of iterations to overcome (the paper's budget); the demo has about 300.
# Same optimizer for all demo heads keeps their comparison fair.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
