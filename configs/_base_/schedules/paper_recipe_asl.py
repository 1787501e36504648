# The paper's recipe for its ASL rows: SAM over Adam 1e-4 (sam_adam.py, ASL's optimizer) with
# the recipe's OneCycle, EMA, early stopping and summary (paper_schedule.py).
_base_ = ['./sam_adam.py', './paper_schedule.py']
