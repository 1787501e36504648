# The schedule of the paper's recipe (Prokofiev & Sovrasov 2022, arXiv 2209.06585, Sec. 3.5;
# docs/training_strategy.md), without its optimizer: OneCycle stepped per iteration and peaking
# at the optimizer's LR, EMA weights (decay 0.9997) with raw and EMA models both evaluated, the
# authors' early stopping on max(raw, EMA) mAP, and an LR range test before training, off (the
# configs give the paper's LRs): switch it on by its name,
#     --cfg-options lr_range_test=True
# paper_recipe.py adds the paper's optimizer (sam_sgd.py); the main demo adds AdamW (adamw.py).
# It includes MMPretrain's default runtime (do not list that one again).
# A config that changes `max_epochs` must also set param_scheduler.total_steps and
# train_cfg.max_epochs (OneCycle's length is fixed when it is built).
# Its components come from `mmpretrain_multilabel` (`custom_imports` belongs to the leaf
# config or the dataset base: MMEngine refuses a key defined by two sibling bases).
_base_ = ['mmpretrain::_base_/default_runtime.py']

max_epochs = 60
monitor = 'multi-label/mAP'
ema_gamma = 4  # EMA warm-up (below)
# True runs the LR range test (LREstimationHook below) before training; it then sets the peak
lr_range_test = False

# ScaledOneCycleLR is MMEngine's OneCycleLR that keeps paramwise_cfg lr_mult ratios; without
# `eta_max` it peaks at the optimizer's lr
param_scheduler = dict(
    type='ScaledOneCycleLR',
    pct_start=0.2,
    div_factor=100.,
    final_div_factor=1000.,
    total_steps=max_epochs,
    by_epoch=True,
    convert_to_iter_based=True,
)

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# No auto_scale_lr: the losses are summed over the batch (BatchSumLoss,
# ../models/losses/aam_coco.py), so the gradient already grows with the batch as the authors'
# did; scaling the LR too would count the batch twice.

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=1,
        # the score early stopping uses: max(raw, EMA) of `monitor`
        save_best=monitor + '_raw_ema_max',
        rule='greater'),
)

custom_hooks = [
    # val/<metric> is the EMA model, val/<metric>_origin the raw one. The paper's decay 0.9997
    # (momentum 3e-4) averages over ~3,000 iterations; from the start it would keep the EMA
    # weights (what checkpoints, test, infer and export use) near initialisation in any run
    # shorter than that. MMEngine's MomentumAnnealingEMA warms it up as timm's ModelEmaV3
    # does: momentum max(3e-4, gamma / (gamma + step)), an average over the last ~1/gamma
    # of the run so far, reaching the paper's decay after gamma / 3e-4 iterations. The Foreach
    # variant is the same average in one fused update per step (docs/benchmarks.md).
    dict(type='EMAHook', ema_type='ForeachMomentumAnnealingEMA', momentum=3e-4,
         gamma=ema_gamma, evaluate_on_ema=True, evaluate_on_origin=True),
    dict(type='SmoothedEarlyStoppingHook', monitor=monitor, patience=5, smoothing=0.8,
         warmup='auto'),
    # authors' range; sets OneCycle's peak when `lr_range_test` is true (read at run time, so
    # that --cfg-options lr_range_test=True reaches it)
    dict(type='LREstimationHook', enabled_by='lr_range_test', min_lr=4e-3, max_lr=0.03,
         num_iters=100, seed=0),
    # the best score against the chance level; warns once if the run is not learning
    dict(type='TrainingSummaryHook', key=monitor + '_raw_ema_max'),
    # the splits' class lists, num_classes and a cosine loss in a logit head, checked before
    # the run, also under MMPretrain's stock tools (kept last: benchmarks address the EMA hook
    # as custom_hooks.0)
    dict(type='ConfigCheckHook'),
]
