"""benchmarks/coco_cv.py: the per-fold configs and the table, without training."""
import json
import os.path as osp

import numpy as np
import pytest

from .scripts import load_script


def _cv():
    return load_script('benchmarks/coco_cv.py')


def test_fold_config_trains_on_the_fold_and_picks_nothing_on_the_held_out_one(tmp_path):
    cv = _cv()
    config, overrides = cv.ROWS['GAT + ML-Decoder + AAM + recipe, no SAM/EMA']
    cfg = cv.fold_config(osp.join(cv.CONFIGS, config), overrides, '/data', [0, 2], [1], 3, 7,
                         str(tmp_path))
    assert cfg.train_dataloader.dataset.indices == [0, 2]
    assert cfg.val_dataloader.dataset.indices == [1] and cfg.test_dataloader.dataset.indices == [1]
    assert cfg.model.neck.graph.dataset.indices == [0, 2]  # the graph counts the fold only
    assert cfg.model.neck.graph.dataset.data_root == '/data'
    assert cfg.optim_wrapper.type == 'OptimWrapper' and 'rho' not in cfg.optim_wrapper
    hooks = {h['type'] for h in cfg.custom_hooks}
    assert not hooks & {'EMAHook', 'SmoothedEarlyStoppingHook', 'TrainingSummaryHook'}
    assert cfg.train_cfg.max_epochs == 3 and cfg.train_cfg.val_interval > 3
    assert cfg.param_scheduler.total_steps == 3 and cfg.randomness.seed == 7


def test_transfer_rows_keep_the_classifier_start(tmp_path):
    """The transfer rows start their classifier from ImageNet's in every fold,
    with SAM and EMA or without them, fitted to the fold's labels where the row
    says "+ probe" (the configs' default) and not otherwise; their twins
    without transfer do not."""
    cv = _cv()
    for row, expected in (('cosine + AAM + recipe + transfer', False),
                          ('cosine + AAM + recipe + transfer + probe', True),
                          ('cosine + AAM + recipe + transfer, no SAM/EMA', False),
                          ('stock + transfer: linear + ASL, AdamW 1e-3', False),
                          ('linear + ASL + recipe + transfer + probe', True),
                          ('transferred ML-GCN + probe, no training', True),
                          ('transferred ML-GCN, no training', False),
                          ('cosine + AAM + recipe', None),
                          ('stock: linear + ASL, AdamW 1e-3', None)):
        config, overrides = cv.ROWS[row]
        cfg = cv.fold_config(osp.join(cv.CONFIGS, config), overrides, '/data', [0], [1], 2, 0,
                             str(tmp_path))
        hooks = {h['type']: h for h in cfg.custom_hooks}
        transfer = hooks.get('ClassifierTransferHook')
        assert (transfer is not None) == (expected is not None), row
        if transfer is not None:
            assert transfer.get('linear_probe', False) == expected, row
        if 'no training' not in row:
            assert ('EMAHook' in hooks) == ('recipe' in row and 'no SAM' not in row), row


def test_first_shipped_row_restores_the_mean_loss_and_the_plain_ema(tmp_path):
    cv = _cv()
    config, overrides = cv.ROWS['ML-Decoder + AAM + recipe as first shipped']
    cfg = cv.fold_config(osp.join(cv.CONFIGS, config), overrides, '/data', [0], [1], 2, 0,
                         str(tmp_path))
    assert cfg.model.head.loss.type == 'AAMLoss'
    assert cfg.custom_hooks[0].type == 'EMAHook' and cfg.custom_hooks[0].gamma < 1e-6


def test_table_from_records(tmp_path, capsys):
    cv = _cv()
    runs = tmp_path / 'runs.jsonl'
    rows = [dict(row='cosine + AAM + recipe', fold=k, seed=0, mAP=m, raw=m - 1, chance=13.0,
                 wall_s=10.0, n_train=n, epochs=e, iters=e * n // 16)
            for n, e, maps in ((96, 12, (38.0, 40.0, 42.0)), (96, 24, (41., 43., 45.)),
                               (48, 12, (30., 31., 32.)))
            for k, m in enumerate(maps)]
    runs.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    plot = tmp_path / 'curves.png'
    cv.main(['--table-from', str(runs), '--plot', str(plot)])
    out = capsys.readouterr().out
    assert ('| cosine + AAM + recipe | 96 | 12 (72) | **40.00 ± 2.00** | 39.00 ± 2.00 | 13.00 | 3 '
            '| 38.0 / 40.0 / 42.0 |') in out
    assert '| 96 | 24 (144) | **43.00 ± 2.00** |' in out
    assert '| 48 | 12 (36) | **31.00 ± 1.00** |' in out
    assert plot.stat().st_size > 10_000
    plot.unlink()
    cv.main(['--table-from', str(runs), '--plot', str(plot), '--plot-rows',
             'cosine + AAM + recipe'])
    assert plot.stat().st_size > 10_000
    both = plot.stat().st_size
    cv.main(['--table-from', str(runs), '--plot', str(plot), '--plot-panels', 'iterations'])
    assert 10_000 < plot.stat().st_size < both  # one panel of the two
    with pytest.raises(SystemExit):
        cv.main(['--table-from', str(runs), '--plot', str(plot), '--plot-rows', 'no such'])
    # runs of a row no longer in ROWS (renamed records) are tabled and can be paired
    old = dict(rows[0], row='cosine + AAM + recipe (query_scale 0)', mAP=37.0)
    runs.write_text(''.join(json.dumps(r) + '\n' for r in rows + [old]))
    cv.main(['--table-from', str(runs), '--paired', 'cosine + AAM + recipe', old['row']])
    out = capsys.readouterr().out
    assert '| cosine + AAM + recipe (query_scale 0) | 96 | 12 (72) | **37.00 ± -** |' in out
    assert '| | 96 | 12 | **1.00 ± -** | 1 of 1 | +1.0 |' in out
    with pytest.raises(SystemExit):
        cv.main(['--table-from', str(runs), '--paired', 'cosine + AAM + recipe', 'no such'])
    # a run's interpolated weights (--interpolate) are tabled as their own row
    runs.write_text(json.dumps(dict(rows[0], interpolated={'0.5': 44.0})) + '\n')
    cv.main(['--table-from', str(runs)])
    assert ('| cosine + AAM + recipe + WiSE-FT 0.5 | 96 | 12 (72) | **44.00 ± -** | - |'
            in capsys.readouterr().out)


def test_paired_differences_match_seed_and_fold(tmp_path, capsys):
    """--paired subtracts the other row's run of the same seed and fold, per
    size and budget, and only where both rows have that run."""
    cv = _cv()
    runs = tmp_path / 'runs.jsonl'
    maps = {('cosine + AAM + recipe', 0): (40., 44.), ('cosine + AAM + recipe', 1): (41., 0.),
            ('stock: linear + ASL, AdamW 1e-3', 0): (38., 45.)}
    records = [dict(row=row, fold=k, seed=seed, mAP=m, raw=np.nan, chance=9.0, wall_s=1.0,
                    n_train=210, epochs=12, iters=168)
               for (row, seed), folds in maps.items() for k, m in enumerate(folds)]
    runs.write_text(''.join(json.dumps(r) + '\n' for r in records))
    cv.main(['--table-from', str(runs), '--paired', 'cosine + AAM + recipe',
             'stock: linear + ASL, AdamW 1e-3'])
    out = capsys.readouterr().out
    assert '| | 210 | 12 | **0.50 ± 2.12** | 1 of 2 | +2.0 / -1.0 |' in out


def test_interpolation_weights_outside_0_1_are_refused_before_training(coco128_root, capsys):
    with pytest.raises(SystemExit):
        _cv().main(['--data-root', coco128_root, '--interpolate', '0.5', '1.5'])
    assert '--interpolate: weights must be in [0, 1], got [1.5]' in capsys.readouterr().err


def test_val_every_below_one_epoch_is_refused_before_training(coco128_root, capsys):
    with pytest.raises(SystemExit):
        _cv().main(['--data-root', coco128_root, '--val-every', '0'])
    assert '--val-every: epochs must be at least 1, got 0' in capsys.readouterr().err


def test_train_subsets_are_nested_and_checked():
    cv = _cv()
    train = list(range(100, 310))
    small, large = cv.train_subset(train, 70, 0), cv.train_subset(train, 140, 0)
    assert len(small) == 70 and len(large) == 140 and set(small) < set(large) < set(train)
    assert cv.train_subset(train, None, 0) == train
    assert cv.train_subset(train, 70, 1) != small  # another fold, another draw
    with pytest.raises(ValueError, match='train size 211 must be in'):
        cv.train_subset(train, 211, 0)


def test_no_training_row_ranks_the_held_out_fold_with_the_transferred_start(
        coco128_root, tmp_path):
    """A "no training" row evaluates the config's model as training would
    start: the transferred classifier, far above the fold's chance level."""
    from mmpretrain_multilabel.datasets import kfold_indices
    cv = _cv()
    config, overrides = cv.ROWS['transferred linear classifier, no training']
    train, val = kfold_indices(126, 3, seed=0)[0]
    record = cv.run_one(dict(row='start', config=config, overrides=overrides, seed=0, fold=0,
                             train=train, val=val, epochs=12, data_root=coco128_root,
                             work_dir=str(tmp_path)))
    print(record)
    assert np.isnan(record['raw'])
    assert record['mAP'] > record['chance'] + 20
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


@pytest.mark.slow
def test_interpolated_weights_run_from_the_start_to_the_final_model(coco128_root, tmp_path):
    """--interpolate: the start and the final weights averaged, evaluated in
    the same run: weight 0 is the model as training starts (the "no
    training" row's mAP), weight 1 the model training ends with; with
    --val-every, the curve of the validations during training."""
    from mmpretrain_multilabel.datasets import kfold_indices
    cv = _cv()
    train, val = kfold_indices(126, 3, seed=0)[0]
    task = dict(seed=0, fold=0, train=train[:32], val=val[:30], epochs=1,
                data_root=coco128_root)
    config, overrides = cv.ROWS['cosine + AAM + recipe + transfer + probe']
    trained = cv.run_one(dict(task, row='trained', config=config, overrides=overrides,
                              work_dir=str(tmp_path / 'a'), interpolations=[0., .5, 1.],
                              val_every=1))
    config, overrides = cv.ROWS['transferred cosine classifier + probe, no training']
    start = cv.run_one(dict(task, row='start', config=config, overrides=overrides,
                            work_dir=str(tmp_path / 'b')))
    print(trained, start)
    assert trained['interpolated']['0'] == pytest.approx(start['mAP'], abs=1e-6)
    assert trained['interpolated']['1'] == pytest.approx(trained['mAP'], abs=1e-6)
    assert trained['mAP'] != pytest.approx(start['mAP'], abs=1e-3)  # training moved it
    # --val-every: the validations during training only (not the final or averaged ones),
    # the EMA model's and the raw one's
    assert trained['curve'] == [[1, pytest.approx(trained['mAP']), pytest.approx(trained['raw'])]]
    (row, ), = {r['row'] for r in cv.interpolated_records([trained]) if '0.5' in r['row']},
    assert row == 'trained + WiSE-FT 0.5'
    # the shipped WiSE-FT config (WiSEFTHook) ends with the weights of the halfway average
    config, overrides = cv.ROWS['cosine + AAM + recipe + transfer + probe, WiSE-FT config']
    wiseft = cv.run_one(dict(task, row='wiseft', config=config, overrides=overrides,
                             work_dir=str(tmp_path / 'c')))
    assert wiseft['mAP'] == pytest.approx(trained['interpolated']['0.5'], abs=1e-6)
    assert wiseft['mAP'] > wiseft['chance'] + 20  # it ranks the held-out photos (real ones)
    assert (tmp_path / 'c' / 'wiseft.pth').exists()
