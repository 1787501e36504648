"""Every paper config builds, and one training iteration with its full
recipe (SAM optimizer wrapper, loss, head) runs on tiny synthetic data with
the config's class count. Pretrained weights are not loaded (no network) and
the label graph is a synthetic one with the right K."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.graph import random_label_graph

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAPER_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', '*', '*.py')) + [osp.join(ROOT, 'configs',
                                                            'effv2s_mld_aam_coco.py')])
PAPER_CONFIGS = [c for c in PAPER_CONFIGS
                 if osp.basename(osp.dirname(c)) not in ('_base_', 'demo', 'coco319')]
DATASET_CLASSES = {'CocoMultiLabel': 80, 'VOC': 20, 'NusWideMultiLabel': 81,
                   'VG500MultiLabel': 500, 'OpenImagesMultiLabel': 601}


def _replace_graphs(cfg_dict, num_classes):
    for part in ('neck', 'head'):
        module = cfg_dict.get(part) or {}
        if 'graph' in module:
            module['graph'] = random_label_graph(num_classes)


def test_paper_configs_are_found():
    names = {osp.basename(c) for c in PAPER_CONFIGS}
    assert 'effv2s_mld_aam_coco.py' in names
    assert len([n for n in names if n.startswith('effv2s_')]) >= 18


@pytest.mark.slow
@pytest.mark.parametrize('config', PAPER_CONFIGS, ids=osp.basename)
def test_paper_config_builds_and_trains_one_iteration(config):
    init_default_scope('mmpretrain')  # optimizer wrappers are registered there
    cfg = Config.fromfile(config)
    assert cfg.get('paper_reference', None) or cfg.get('paper_ablation', None) or \
        'effv2l' in config, 'no paper figures'
    dataset = cfg.train_dataloader.dataset
    num_classes = cfg.model.head.num_classes
    assert DATASET_CLASSES[dataset.type] == num_classes, dataset.type
    assert cfg.data_preprocessor.num_classes == num_classes
    assert cfg.optim_wrapper.type == 'SAMOptimWrapper'
    assert cfg.optim_wrapper.paramwise_cfg == dict(norm_decay_mult=0., bias_decay_mult=0.)

    cfg.model.backbone.pop('init_cfg', None)
    _replace_graphs(cfg.model, num_classes)
    if cfg.model.get('data_preprocessor') is None:
        cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    samples = [DataSample().set_gt_label(torch.tensor([i, (i + 7) % num_classes]))
               for i in range(2)]
    data = dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
                        for _ in range(2)], data_samples=samples)
    before = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    log_vars = model.train_step(data, wrapper)
    assert torch.isfinite(log_vars['loss'])
    after = [p for p in model.parameters() if p.requires_grad]
    assert any(not torch.equal(a, b) for a, b in zip(after, before))
    model.eval()
    with torch.no_grad():
        preds = model.test_step(data)
    assert preds[0].pred_score.shape == (num_classes,)
