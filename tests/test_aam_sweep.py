"""tools/analysis_tools/aam_sweep.py (Figures 3-4): one short training per value of the
AAM scale on the demo data, the value reaches each run's config, and the table / CSV /
plot hold each run's best validation mAP."""
import csv
import os.path as osp

import pytest
from mmengine.config import Config

from mmpretrain_multilabel.utils.sweep import best_score, train_command

from .scripts import load_script
from .training_recipe_utils import ROOT, write_tiny_config

# the tiny test config's head replaced by GAP + cosine + AAM (a statement after its `model`)
COSINE_AAM = '''
model['head'] = dict(type='MultiLabelCosineClsHead', num_classes=14, in_channels=16,
                     loss=dict(type='BatchSumLoss', loss=dict(type='AAMLoss', s=23.0,
                                                              gamma_neg=1.0)))
'''


def test_train_command_sets_the_key_and_uses_dist_train_for_gpus():
    cmd = train_command('c.py', 'w', 'model.head.loss.loss.m', 0.1, gpus=1)
    assert cmd[1].endswith(osp.join('tools', 'train.py'))
    assert cmd[-2:] == ['--cfg-options', 'model.head.loss.loss.m=0.1']
    assert train_command('c.py', 'w', 'k', 5.0, gpus=2)[:4] == \
        ['bash', osp.join('.', 'tools', 'dist_train.sh'), 'c.py', '2']


@pytest.mark.slow
def test_sweep_trains_each_value_and_writes_table_and_plot(tmp_path, monkeypatch):
    aam_sweep = load_script('tools/analysis_tools/aam_sweep.py')
    monkeypatch.setenv('PYTHONPATH', ROOT)  # the runs are subprocesses
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data', max_epochs=1,
                               extra=COSINE_AAM)
    work = str(tmp_path / 'sweep')
    rows = aam_sweep.main([config, '--param', 's', '--values', '5', '30', '--work-dir', work])
    assert [r['value'] for r in rows] == [5.0, 30.0]
    for row in rows:
        dumped = Config.fromfile(osp.join(row['work_dir'], 'tiny.py'))
        assert dumped.model.head.loss.loss.s == row['value']
        assert row['score'] == best_score(row['work_dir']) and 0 < row['score'] <= 100
    with open(osp.join(work, 'sweep_s.csv')) as f:
        table = list(csv.reader(f))
    assert table[0] == ['s', 'multi-label/mAP']
    assert [float(v) for v in table[1]] == [5.0, rows[0]['score']]
    assert '| 30 |' in open(osp.join(work, 'sweep_s.md')).read()
    assert osp.getsize(osp.join(work, 'sweep_s.png')) > 1000
