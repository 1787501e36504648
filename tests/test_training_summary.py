"""The end-of-training summary's Evaluate / Predict commands use the config
saved in the work directory, which holds the run's --cfg-options."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis import merge_test_args
from mmpretrain_multilabel.engine.hooks.training_summary_hook import saved_config

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_demo.py')


def test_saved_config_prefers_the_work_dir_copy(tmp_path):
    assert saved_config(str(tmp_path), '/x/run.py', '20240101_000000') == '/x/run.py'
    assert saved_config(str(tmp_path), None, '20240101_000000') == 'CONFIG'
    (tmp_path / 'run.py').write_text('a = 1\n')
    (tmp_path / '20240101_000000.py').write_text('a = 1\n')
    assert saved_config(str(tmp_path), '/x/run.py', 't') == str(tmp_path / 'run.py')
    assert saved_config(str(tmp_path), None, '20240101_000000') == str(
        tmp_path / '20240101_000000.py')


def test_test_args_never_resume():
    """A config saved by a resumed run says resume=True; evaluating it loads
    the checkpoint's weights, it does not resume training."""
    tool = load_script('tools/test.py')
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.resume = True
    cfg = merge_test_args(cfg, tool.parse_args([TINY_CONFIG, 'best.pth']))
    assert cfg.resume is False and cfg.load_from == 'best.pth'


@pytest.mark.slow
def test_evaluate_command_reproduces_the_runs_metrics(tmp_path):
    """Train with a --cfg-options that changes the metrics (the evaluator's
    decision threshold); the summary's Evaluate command gives the run's validation
    numbers, the original config would not."""
    data = str(tmp_path / 'data')
    work = str(tmp_path / 'work')
    options = ['train_dataloader.dataset.data_root=' + data,
               'val_dataloader.dataset.data_root=' + data,
               'test_dataloader.dataset.data_root=' + data, 'val_evaluator.thr=0.8',
               'test_evaluator.thr=0.8']
    runner = load_script('tools/train.py').main(
        [TINY_CONFIG, '--work-dir', work, '--cfg-options', *options])
    val_of1 = runner.message_hub.get_scalar('val/multi-label/OF1').current()
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    config, ckpt = re.search(r'Evaluate: +python tools/test.py (\S+) (\S+)', log).groups()
    assert config == osp.join(work, 'tiny_demo.py')
    assert re.search(rf'Predict: +python tools/infer.py {re.escape(config)} ', log)
    assert Config.fromfile(config).test_evaluator.thr == 0.8

    test = load_script('tools/test.py')
    metrics = test.main([config, ckpt, '--work-dir', str(tmp_path / 'eval')])
    assert metrics['multi-label/OF1'] == pytest.approx(val_of1, abs=1e-4)
    original = test.main([TINY_CONFIG, ckpt, '--work-dir', str(tmp_path / 'eval'),
                          '--cfg-options', *options[:3]])  # the run's data, default thr
    assert original['multi-label/OF1'] != pytest.approx(val_of1, abs=1e-2)
