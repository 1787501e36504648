"""Misconfigurations that used to train to the end without a word are refused
before the first iteration (ConfigCheckHook, in the shipped schedules and
added by the project's tools) or at the first forward (AAMLoss given logits,
MultiLabelCosineClsHead with a wrong in_channels), with messages that name
the values and the fix; also under MMPretrain's stock tools/train.py."""
import importlib.util
import os.path as osp
import sys

import mmpretrain
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis import build_runner
from mmpretrain_multilabel.apis.launch import enable_config_checks
from mmpretrain_multilabel.datasets import DEMO_CLASSES
from mmpretrain_multilabel.engine.hooks import (
    ConfigCheckError,
    check_cosine_losses,
    check_num_classes,
    check_split_classes,
)
from mmpretrain_multilabel.engine.hooks.config_check_hook import (
    check_checkpoint_classes,
    check_schedule_length,
)
from mmpretrain_multilabel.models.heads import MultiLabelCosineClsHead
from mmpretrain_multilabel.models.losses import AAMLoss

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_demo.py')
STOCK_TRAIN = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'train.py')
AAM = dict(type='AAMLoss', s=10.0)
REORDERED = list(reversed(DEMO_CLASSES))


def test_split_classes_in_another_order_are_refused():
    with pytest.raises(ConfigCheckError, match=r"same 3 classes in a different order: label "
                       r"id 0 is 'cat' in one and 'dog' in the other"):
        check_split_classes(dict(train_dataloader=['cat', 'dog', 'car'],
                                 val_dataloader=['dog', 'cat', 'car']))
    with pytest.raises(ConfigCheckError, match=r"has 2 classes and val_dataloader.dataset has "
                       r"3.*only in train_dataloader: \[\]; only in val_dataloader: \['car'\]"):
        check_split_classes(dict(train_dataloader=['cat', 'dog'],
                                 val_dataloader=['cat', 'dog', 'car']))
    check_split_classes(dict(train_dataloader=['a', 'b'], val_dataloader=['a', 'b'],
                             test_dataloader=None))


def test_num_classes_against_the_dataset():
    model = torch.nn.Module()
    model.head = MODELS.build(dict(type='MultiLabelLinearClsHead', num_classes=20,
                                   in_channels=8))
    model.data_preprocessor = MODELS.build(dict(type='ClsDataPreprocessor', num_classes=20))
    with pytest.raises(ConfigCheckError, match=r'model.head \(MultiLabelLinearClsHead\) has '
                       r'num_classes=20 but val_dataloader.dataset has 6 classes.*'
                       r'Set num_classes=6 in model.head'):
        check_num_classes(model, list('abcdef'), 'val_dataloader')
    model.head.num_classes = 6
    with pytest.raises(ConfigCheckError, match='model.data_preprocessor'):
        check_num_classes(model, list('abcdef'), 'val_dataloader')
    model.head.num_classes = 20
    check_num_classes(model, list('abcdefghijklmnopqrst'), 'val_dataloader')


@pytest.mark.parametrize('head', [
    dict(type='MultiLabelLinearClsHead', num_classes=3, in_channels=8, loss=AAM),
    dict(type='CSRAClsHead', num_classes=3, in_channels=8, num_heads=1, lam=0.1,
         loss=dict(type='BatchSumLoss', loss=AAM)),
])
def test_cosine_loss_in_a_logit_head_is_refused(head):
    head = MODELS.build(head)
    model = torch.nn.Module()
    model.head = head
    with pytest.raises(ConfigCheckError, match=rf'model.head \({type(head).__name__}\) outputs '
                       r"logits but its loss AAMLoss takes cosine scores.*MultiLabelCosineClsHead"):
        check_cosine_losses(model)
    model.head = MultiLabelCosineClsHead(num_classes=3, in_channels=8, loss=AAM)
    check_cosine_losses(model)


def test_aam_loss_refuses_logits_at_the_first_call():
    """The check that needs no hook: a stock config with a linear head and AAM
    stops at the first loss whose scores leave [-1, 1]."""
    loss = AAMLoss(s=10.0)
    target = torch.tensor([[1., 0., 0.]])
    with pytest.raises(ValueError, match=r'AAMLoss: scores outside \[-1, 1\] \(largest \|score\| '
                       r'3\.5\).*not logits.*MultiLabelCosineClsHead'):
        loss(torch.tensor([[3.5, -0.2, 0.1]]), target)
    assert torch.isfinite(loss(torch.tensor([[1.004, -1.0, 0.1]]), target))  # fp16 rounding


def test_cosine_head_names_a_wrong_in_channels():
    head = MultiLabelCosineClsHead(num_classes=3, in_channels=1280, loss=AAM)
    with pytest.raises(ValueError, match=r'MultiLabelCosineClsHead: in_channels=1280 but the '
                       r"input has 320 channels \(\(2, 320\)\); set the head's in_channels=320"):
        head((torch.randn(2, 320), ))


def test_checkpoint_classes_in_another_order_are_refused():
    ckpt = dict(meta=dict(dataset_meta=dict(classes=['a', 'b', 'c'])))
    with pytest.raises(ConfigCheckError, match=r"its class 0 is 'a', the dataset's 'c'"):
        check_checkpoint_classes(ckpt, ['c', 'b', 'a'], 'test_dataloader')
    check_checkpoint_classes(ckpt, ['a', 'b', 'c'], 'test_dataloader')
    check_checkpoint_classes(ckpt, ['x', 'y'], 'test_dataloader')  # another dataset: fine-tuning
    check_checkpoint_classes({}, ['c', 'b', 'a'], 'test_dataloader')


def test_schedule_shorter_than_the_training_is_refused():
    one_cycle = dict(type='ScaledOneCycleLR', total_steps=12, by_epoch=True)
    with pytest.raises(ConfigCheckError, match=r'param_scheduler \(ScaledOneCycleLR\) has '
                       r'total_steps=12 \(epochs\) but train_cfg.max_epochs=24: .* after epoch '
                       r'12. Set param_scheduler.total_steps=24 with train_cfg.max_epochs=24'):
        check_schedule_length(one_cycle, dict(max_epochs=24))
    with pytest.raises(ConfigCheckError, match=r'total_steps=100 \(iters\) but '
                       r'train_cfg.max_iters=200'):
        check_schedule_length([dict(type='LinearLR', end=5), dict(one_cycle, total_steps=100,
                                                                  by_epoch=False)],
                              dict(max_iters=200))
    assert 'will not finish its schedule' in check_schedule_length(one_cycle, dict(max_epochs=6))
    assert check_schedule_length(one_cycle, dict(max_epochs=12)) is None
    assert check_schedule_length(dict(type='CosineAnnealingLR'), dict(max_epochs=3)) is None


def test_stock_train_tool_refuses_a_schedule_that_would_stop_the_run(tmp_path, monkeypatch):
    """Only max_epochs raised (the OneCycle total_steps left): MMEngine would
    stop with an error once the schedule ran out; refused before training."""
    options = {'train_dataloader.dataset.data_root': str(tmp_path / 'data'),
               'val_dataloader.dataset.data_root': str(tmp_path / 'data'),
               'train_cfg.max_epochs': 2}
    runner = stock_train_runner(osp.join(ROOT, 'tests', 'data', 'tiny_main_demo.py'),
                                str(tmp_path / 'work'), options, monkeypatch)
    with pytest.raises(ConfigCheckError, match=r'total_steps=1 \(epochs\) but '
                       r'train_cfg.max_epochs=2'):
        runner.train()
    assert runner.iter == 0


def test_enable_config_checks_adds_the_hook_once():
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook')]))
    enable_config_checks(cfg)
    enable_config_checks(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook', 'ConfigCheckHook']


MISCONFIGURED = {
    'val classes in another order': (
        {'val_dataloader.dataset.metainfo': dict(classes=REORDERED)},
        r"train_dataloader.dataset and val_dataloader.dataset have the same 14 classes in a "
        r"different order: label id 0 is 'sun' in one and 'ball' in the other"),
    'head num_classes 20 on 14 classes': (
        {'model.head.num_classes': 20},
        r'model.head \(MultiLabelLinearClsHead\) has num_classes=20 but train_dataloader.dataset '
        r'has 14 classes'),
    'AAMLoss in MultiLabelLinearClsHead': (
        {'model.head.loss': AAM},
        r'model.head \(MultiLabelLinearClsHead\) outputs logits but its loss AAMLoss takes '
        r'cosine scores'),
}


def stock_train_runner(config, work_dir, options, monkeypatch):
    """The runner MMPretrain's stock ``tools/train.py`` builds (its own
    ``parse_args`` and ``merge_args``)."""
    spec = importlib.util.spec_from_file_location('stock_train_tool', STOCK_TRAIN)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(sys, 'argv', [STOCK_TRAIN, config, '--work-dir', work_dir,
                                      '--no-persistent-workers'])
    cfg = tool.merge_args(Config.fromfile(config), tool.parse_args())
    cfg.merge_from_dict(options)
    return Runner.from_cfg(cfg)


@pytest.mark.parametrize('case', sorted(MISCONFIGURED))
def test_stock_train_tool_refuses_before_training(case, tmp_path, monkeypatch):
    """The shipped demo schedule carries ConfigCheckHook: MMPretrain's own
    train.py stops before the first iteration (before: it trained and
    reported wrong numbers)."""
    options, message = MISCONFIGURED[case]
    options = {'train_dataloader.dataset.data_root': str(tmp_path / 'data'),
               'val_dataloader.dataset.data_root': str(tmp_path / 'data'), **options}
    runner = stock_train_runner(TINY_CONFIG, str(tmp_path / 'work'), options, monkeypatch)
    with pytest.raises(ConfigCheckError, match=message):
        runner.train()
    assert runner.iter == 0


def test_project_tools_add_the_check_to_any_config(tmp_path):
    """A config without the hook (e.g. a stock MMPretrain config with the
    plugin's parts) gets it from the project's build_runner."""
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.custom_hooks = []
    cfg.work_dir = str(tmp_path / 'work')
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': str(tmp_path / 'data'),
                         'val_dataloader.dataset.data_root': str(tmp_path / 'data'),
                         'model.head.loss': AAM})
    runner = build_runner(cfg)
    with pytest.raises(ConfigCheckError, match='outputs logits'):
        runner.train()
    assert runner.iter == 0


def shipped_configs():
    """Every leaf config under configs/ (not the _base_ parts)."""
    import glob
    return sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                  if '_base_' not in p)


@pytest.mark.slow
def test_every_shipped_config_carries_the_check():
    """MMPretrain's stock tools run only what the config lists: every shipped
    config lists ConfigCheckHook (through its schedule)."""
    missing = [osp.relpath(p, ROOT) for p in shipped_configs()
               if 'ConfigCheckHook' not in
               [h['type'] for h in Config.fromfile(p).get('custom_hooks', [])]]
    assert not missing
