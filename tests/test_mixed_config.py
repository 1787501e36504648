"""The mixed config of docs/mmpretrain_tools.md (issue 27, item 5): MMPretrain's
CSRA VOC 2007 config with the plugin's cosine head + AAM, SAM, the EMA and
early-stopping hooks and MultiLabelSuite. The block is read from the page,
built, and trained for a few iterations the way MMPretrain's tools/train.py
does (``Runner.from_cfg``) on a tiny VOC-layout dataset (64 px, no
pretrained weights)."""
import os.path as osp
import random
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.datasets.categories import VOC2007_CATEGORIES
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models import AAMLoss, MultiLabelCosineClsHead

from .dataset_test_utils import make_image

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAGE = osp.join(ROOT, 'docs', 'mmpretrain_tools.md')
TRAIN_IDS = [f'{i:06d}' for i in range(12)]
TEST_IDS = [f'{i:06d}' for i in range(12, 20)]


def mixed_config(tmp_path) -> Config:
    """The page's ``<!-- mixed-config -->`` block, saved and read as a config."""
    text = open(PAGE).read()
    block = re.search(r'<!-- mixed-config -->\s*```python\n(.*?)```', text, re.S)
    assert block, f'no mixed-config block in {PAGE}'
    path = tmp_path / 'csra_voc07_plugin.py'
    path.write_text(block.group(1))
    return Config.fromfile(str(path))


def write_tiny_voc(root) -> None:
    """20 images of the 20 VOC classes in VOC's layout: three objects each,
    the third one difficult; 12 trainval, 8 test."""
    (root / 'Annotations').mkdir(parents=True)
    (root / 'ImageSets' / 'Main').mkdir(parents=True)
    rng = random.Random(0)
    for i, img_id in enumerate(TRAIN_IDS + TEST_IDS):
        objects = ''.join(
            f'<object><name>{VOC2007_CATEGORIES[(i + 3 * j) % 20]}</name>'
            f'<difficult>{int(j == 2)}</difficult></object>' for j in range(3))
        (root / 'Annotations' / f'{img_id}.xml').write_text(f'<annotation>{objects}</annotation>')
        make_image(root / 'JPEGImages' / f'{img_id}.jpg', size=(72, 64),
                   color=tuple(rng.randrange(256) for _ in range(3)))
    for split, ids in (('trainval', TRAIN_IDS), ('test', TEST_IDS)):
        (root / 'ImageSets' / 'Main' / f'{split}.txt').write_text('\n'.join(ids) + '\n')


def test_the_mixed_config_builds_its_parts(tmp_path):
    cfg = mixed_config(tmp_path)
    assert cfg.model.backbone.type == 'ResNet' and cfg.model.backbone.depth == 101  # CSRA's
    assert 'lam' not in cfg.model.head and 'num_heads' not in cfg.model.head
    assert cfg.optim_wrapper.type == 'SAMOptimWrapper'
    assert cfg.optim_wrapper.optimizer.type == 'SGD'  # CSRA's optimizer under SAM
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult == 10
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook', 'SmoothedEarlyStoppingHook']
    assert cfg.train_dataloader.dataset.type == 'VOC'
    init_default_scope('mmpretrain')
    cfg.model.backbone.init_cfg = None  # no download
    model = MODELS.build(cfg.model)
    assert isinstance(model.head, MultiLabelCosineClsHead)
    assert isinstance(model.head.loss_module, AAMLoss) and model.head.normalized


@pytest.mark.slow
def test_the_mixed_config_trains_a_few_iterations(tmp_path):
    from mmengine.runner import Runner
    voc = tmp_path / 'voc'
    write_tiny_voc(voc)
    cfg = mixed_config(tmp_path)
    options = {'model.backbone.init_cfg': None, 'work_dir': str(tmp_path / 'work'),
               'train_cfg.max_epochs': 1, 'log_level': 'WARNING',
               # 64 px instead of 448 (the crop of training, the resize of testing)
               'train_dataloader.dataset.pipeline.1.scale': 64,
               'val_dataloader.dataset.pipeline.1.scale': 64}
    for loader in ('train_dataloader', 'val_dataloader'):
        options.update({f'{loader}.dataset.data_root': str(voc), f'{loader}.batch_size': 4,
                        f'{loader}.num_workers': 0, f'{loader}.persistent_workers': False})
    cfg.merge_from_dict(options)
    cfg.test_dataloader = cfg.val_dataloader

    runner = Runner.from_cfg(cfg)  # what MMPretrain's tools/train.py does
    runner.train()
    assert runner.iter == 3  # 12 images, batch 4, one epoch
    assert type(runner.optim_wrapper).__name__ == 'SAMOptimWrapper'
    assert isinstance(runner.model.head, MultiLabelCosineClsHead)
    early = [h for h in runner.hooks if type(h).__name__ == 'SmoothedEarlyStoppingHook']
    assert early and early[0].monitor == 'suite/mAP'

    # the epoch's validation: EMA model, then the raw one (<metric>_origin)
    scalars = runner.message_hub.log_scalars
    metrics = {k[len('val/'):]: v.current() for k, v in scalars.items() if k.startswith('val/')}
    assert {'suite/mAP', 'suite/OF1', 'multi-label/mAP', 'suite/mAP_origin'} <= set(metrics)
    # difficult-only labels are ignored by both: the suite's mAP is VOC's
    assert metrics['suite/mAP'] == pytest.approx(metrics['multi-label/mAP'], abs=1e-3)
    assert 0 < metrics['suite/mAP'] <= 100
