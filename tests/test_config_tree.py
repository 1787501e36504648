"""The config tree composes instead of deleting: no ``_delete_`` in configs/
(nor in the override tables of benchmarks/), nothing read from outside the
repository, one LR number per recipe row, a README per config folder naming
each of its configs; and tools/analysis_tools/compare_configs.py, which checks
a restructuring of the tree against a dump taken before it."""
import importlib.util
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')

#: config files allowed to use ``_delete_``, with the reason (none today: every row
#: composes its bases; add an entry with its reason rather than a silent exception)
DELETE_ALLOWED = {}


def _compare_tool():
    spec = importlib.util.spec_from_file_location(
        'compare_configs', osp.join(ROOT, 'tools', 'analysis_tools', 'compare_configs.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _python_files(*folders):
    for folder in folders:
        for path, _, files in os.walk(osp.join(ROOT, folder)):
            yield from (osp.join(path, f) for f in sorted(files) if f.endswith('.py'))


LEAVES = _compare_tool().leaf_configs(CONFIGS)


def test_no_config_deletes_what_a_base_defines():
    users = {osp.relpath(p, ROOT) for p in _python_files('configs', 'benchmarks')
             if '_delete_' in open(p).read()}
    assert users == set(DELETE_ALLOWED), sorted(users - set(DELETE_ALLOWED))


def test_no_config_reads_outside_the_repository():
    outside = re.compile(r"""\.\./shared|['"]/(?!/)|['"]~""")  # ../shared, /abs, ~/home
    bad = [f'{osp.relpath(p, ROOT)}:{i}' for p in _python_files('configs')
           for i, line in enumerate(open(p), 1)
           if outside.search(line.split('#')[0])]
    assert not bad


def test_leaves_are_found():
    folders = {osp.dirname(leaf) for leaf in LEAVES}
    assert folders == {'', 'ablation', 'coco319', 'demo', 'effv2l', 'effv2s', 'mlgcn',
                       'openimages', 'q2l', 'tresnet'}
    assert len(LEAVES) == 78


@pytest.mark.parametrize('leaf', LEAVES)
def test_a_recipe_row_states_its_lr_once(leaf):
    """OneCycle takes its peak from the optimizer's lr (ScaledOneCycleLR without
    eta_max); the LR range test is switched by its name."""
    cfg = Config.fromfile(osp.join(CONFIGS, leaf))
    scheduler = cfg.param_scheduler
    if isinstance(scheduler, dict) and scheduler.type == 'ScaledOneCycleLR':
        assert 'eta_max' not in scheduler
        assert cfg.lr_range_test is False
        lr_test = [h for h in cfg.custom_hooks if h['type'] == 'LREstimationHook']
        assert [h.get('enabled_by') for h in lr_test] == ['lr_range_test']
    assert 'paper_lr' not in cfg


def test_every_config_folder_has_a_readme_naming_its_configs():
    for folder in sorted({osp.dirname(leaf) for leaf in LEAVES} - {''}):
        readme = osp.join(CONFIGS, folder, 'README.md')
        assert osp.isfile(readme), readme
        text = open(readme).read()
        missing = [leaf for leaf in LEAVES
                   if osp.dirname(leaf) == folder and osp.basename(leaf) not in text]
        assert not missing, (readme, missing)
        assert 'tools/train.py' in text and 'tools/test.py' in text, readme


# ----------------------------------------------------- the comparison tool


def _write(folder, name, text):
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, name), 'w') as f:
        f.write(text)


SCHEDULE = """
custom_imports = dict(imports=['mmpretrain_multilabel'], allow_failed_imports=False)
optim_wrapper = dict(optimizer=dict(type='SGD', lr={lr}),
                     paramwise_cfg=dict(custom_keys={{'head': dict(lr_mult=0.5)}}))
param_scheduler = dict(type='ScaledOneCycleLR', total_steps=4, by_epoch=True,
                       convert_to_iter_based=True{peak})
"""


def test_compare_tool_checks_the_built_schedule_not_only_the_text(tmp_path):
    tool = _compare_tool()
    _write(tmp_path / 'a' / '_base_', 'ignored.py', 'x = 1\n')  # bases are not leaves
    _write(tmp_path / 'a' / 'rows', 'row.py', SCHEDULE.format(lr=0.1, peak=', eta_max=0.1'))
    _write(tmp_path / 'b' / 'rows', 'row.py', SCHEDULE.format(lr=0.1, peak=''))
    _write(tmp_path / 'c' / 'rows', 'row.py', SCHEDULE.format(lr=0.2, peak=''))
    for name in 'abc':
        assert tool.dump(str(tmp_path / name), str(tmp_path / f'dump_{name}')) == [
            osp.join('rows', 'row.py')]

    # eta_max left to its default: only the text differs, the built peaks agree
    report, same = tool.compare(str(tmp_path / 'dump_a'), str(tmp_path / 'dump_b'))
    assert not same and '- param_scheduler.eta_max = 0.1' in report
    assert 'built' not in report
    report, same = tool.compare(str(tmp_path / 'dump_a'), str(tmp_path / 'dump_b'),
                                ignore=['param_scheduler.eta_max'])
    assert same and '1 leaves: same runtime values' in report

    # another lr: every group's built peak moves, the head keeps half of it
    report, same = tool.compare(str(tmp_path / 'dump_b'), str(tmp_path / 'dump_c'))
    assert not same
    assert re.search(r'~ built\.group\d\.max_lr: 0\.05 -> 0\.1', report)
    assert re.search(r'~ built\.group\d\.max_lr: 0\.1 -> 0\.2', report)
    assert '~ optim_wrapper.optimizer.lr: 0.1 -> 0.2' in report
    assert tool.main(['compare', str(tmp_path / 'dump_b'), str(tmp_path / 'dump_b')]) == 0
