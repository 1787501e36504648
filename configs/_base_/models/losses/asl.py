# MMPretrain's AsymmetricLoss with ASL's setting (gamma- 4, gamma+ 0, clip 0.05), averaged over
# the batch as MMPretrain does: the stock baselines of the demo and the real photos (not the paper's
# rows, which sum it: asl_paper.py).
loss = dict(type='AsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05)
