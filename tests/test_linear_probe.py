"""The closed-form linear probe start (models/utils/linear_probe.py and
``ClassifierTransferHook(linear_probe=True)``): the ridge solution toward the
prior from sums, its strength by generalised cross-validation, and the hook
fitting a head on the pooled features of a model."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.engine.hooks import ClassifierTransferHook
from mmpretrain_multilabel.engine.hooks.classifier_transfer_hook import probe_stats
from mmpretrain_multilabel.models.utils.linear_probe import ProbeStats, fit_probe


def problem(n=40, c=6, k=3, seed=0, prior_noise=0.3):
    """Features, 0/1 labels of a noisy linear rule, and a prior near the rule."""
    rng = np.random.RandomState(seed)
    x = rng.randn(n, c)
    true = rng.randn(k, c)
    y = (x @ true.T + 0.5 * rng.randn(n, k) > 0).astype(float)
    return torch.tensor(x), torch.tensor(y), torch.tensor(true + prior_noise * rng.randn(k, c))


def stats_of(x, y, batch=7):
    stats = ProbeStats(x.shape[1], y.shape[1])
    for i in range(0, len(x), batch):
        stats.add(x[i:i + batch], y[i:i + batch])
    return stats


def by_hand(x, y, prior, lam):
    """The ridge probe toward ``beta * prior`` and its GCV score, from the
    centred data and the hat matrix."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    scores = xc @ prior.T
    beta = (scores * yc).sum() / (scores * scores).sum()
    resid = yc - beta * scores
    inv = torch.linalg.inv(xc.T @ xc + lam * torch.eye(x.shape[1], dtype=x.dtype))
    w = beta * prior + (inv @ xc.T @ resid).T
    hat = xc @ inv @ xc.T
    rss = ((resid - hat @ resid)**2).sum()
    df = torch.trace(hat) + 1
    n = len(x)
    return w, y.mean(0) - w @ x.mean(0), float(n * rss / (n - df)**2)


def test_probe_is_the_ridge_solution_toward_the_prior():
    x, y, prior = problem()
    scale = float(torch.linalg.eigvalsh((x - x.mean(0)).T @ (x - x.mean(0))).mean())
    w, b, lam = fit_probe(stats_of(x, y), prior, lambdas=[0.3])
    assert lam == pytest.approx(0.3 * scale)
    w_ref, b_ref, _ = by_hand(x, y, prior, lam)
    torch.testing.assert_close(w, w_ref.float(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(b, b_ref.float(), rtol=1e-4, atol=1e-5)
    # a very strong ridge keeps the prior, rescaled to the labels
    w_strong, _, _ = fit_probe(stats_of(x, y), prior, lambdas=[1e9])
    cos = F.cosine_similarity(w_strong.flatten(), prior.float().flatten(), dim=0)
    assert cos > 0.9999


def test_gcv_picks_the_strength_the_hat_matrix_picks():
    x, y, prior = problem(n=25, c=12, seed=1, prior_noise=2.)  # few images, a poor prior
    grid = [1e-3, 1e-2, 0.1, 1., 10., 100.]
    _, _, lam = fit_probe(stats_of(x, y), prior, lambdas=grid)
    scale = float(torch.linalg.eigvalsh((x - x.mean(0)).T @ (x - x.mean(0))).mean())
    gcv = [by_hand(x, y, prior, g * scale)[2] for g in grid]
    assert lam == pytest.approx(grid[int(np.argmin(gcv))] * scale)
    assert 0 < int(np.argmin(gcv)) < len(grid) - 1  # an inner optimum, not an edge


def test_sums_of_parts_give_the_probe_of_the_whole():
    """What all-reducing the sums of several processes relies on."""
    x, y, prior = problem()
    whole = stats_of(x, y)
    parts = [stats_of(x[:15], y[:15]), stats_of(x[15:], y[15:])]
    for total, *pieces in zip(whole.tensors(), *(p.tensors() for p in parts)):
        torch.testing.assert_close(total, sum(pieces))


def test_probe_refuses_what_it_cannot_fit():
    x, y, prior = problem()
    with pytest.raises(ValueError, match='2 images; it needs at least 3'):
        fit_probe(stats_of(x[:2], y[:2]), prior)
    with pytest.raises(ValueError, match='no positive label'):
        fit_probe(stats_of(x, torch.zeros_like(y)), prior)


class PooledModel(nn.Module):
    """A backbone returning a [B, C, 2, 2] map, a cosine or plain ``fc`` head."""

    def __init__(self, c, k, normalized):
        super().__init__()
        self.backbone = nn.Conv2d(c, c, 1)
        self.head = SimpleNamespace(fc=nn.Linear(c, k), normalized=normalized, num_classes=k)
        self.data_preprocessor = lambda batch, training: dict(inputs=batch['inputs'])

    def maps(self, inputs):
        with torch.no_grad():
            return self.backbone(inputs)


@pytest.mark.parametrize('normalized', [True, False])
def test_hook_fits_the_head_on_its_pooled_features(normalized, monkeypatch):
    """The hook transfers, then fits the probe on the average-pooled
    features (L2-normalised for a cosine head) of the loader's images; a plain
    head takes the intercept as its bias."""
    torch.manual_seed(0)
    c, k = 6, 3
    model = PooledModel(c, k, normalized)
    x, y, _ = problem(n=32, c=c, k=k)
    inputs = torch.randn(32, c, 2, 2)
    labels = [torch.nonzero(row).flatten() for row in y]
    loader = [dict(inputs=inputs[i:i + 8],
                   data_samples=[SimpleNamespace(gt_label=lab) for lab in labels[i:i + 8]])
              for i in range(0, 32, 8)]
    transferred = torch.randn(k, c)
    monkeypatch.setattr(
        'mmpretrain_multilabel.engine.hooks.classifier_transfer_hook.transfer_classifier',
        lambda *a, **kw: (transferred.numpy(), np.zeros(k, np.float32), {}))
    monkeypatch.setattr(
        'mmpretrain_multilabel.engine.hooks.classifier_transfer_hook.source_classifier',
        lambda *a: (torch.zeros(1, c), torch.zeros(1)))
    monkeypatch.setattr(
        'mmpretrain_multilabel.engine.hooks.classifier_transfer_hook.load_word_vectors',
        lambda name: None)
    hook = ClassifierTransferHook(linear_probe=True)
    model.train()
    hook.transfer(model, ['a', 'b', 'c'], loader)
    pooled = model.maps(inputs).mean((2, 3))
    if normalized:
        pooled = F.normalize(pooled, dim=1)
    prior = F.normalize(transferred, dim=1) if normalized else transferred
    w, b, _ = fit_probe(stats_of(pooled, y.float()), prior)
    torch.testing.assert_close(model.head.fc.weight.detach(), w)
    torch.testing.assert_close(model.head.fc.bias.detach(), b)
    assert hook.probe_report['images'] == 32
    assert model.training  # back in the mode it was in
    torch.testing.assert_close(probe_stats(model, loader).sx, pooled.double().sum(0))
    with pytest.raises(ValueError, match='needs the training dataloader'):
        hook.transfer(model, ['a', 'b', 'c'])


def test_probe_loader_reads_the_training_images_without_augmentation(coco128_root):
    """The probe sees the training photos in order through the validation
    pipeline: the same pixels as the evaluation, no random transform."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmpretrain_multilabel.engine.hooks.classifier_transfer_hook import probe_loader

    from .training_recipe_utils import ROOT
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'coco319',
                                   'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py'))
    cfg.train_dataloader.dataset.update(data_root=coco128_root, indices=list(range(10)))
    init_default_scope('mmpretrain')
    loader = probe_loader(cfg)
    val_steps = [t['type'] for t in cfg.val_dataloader.dataset.pipeline]
    assert [type(t).__name__ for t in loader.dataset.pipeline.transforms] == val_steps
    assert 'RandAugment' not in val_steps and not loader.sampler.shuffle
    first = [next(iter(loader))['inputs'][0] for _ in range(2)]
    assert torch.equal(*first)
    assert len(loader.dataset) == 10  # the training photos


@pytest.mark.slow
def test_two_processes_fit_the_probe_of_all_images(tmp_path):
    """Under DDP every process reads its share of the training images; the
    sums are all-reduced, so the head starts as the probe of all of them:
    two processes (gloo, CPU) give the one-process start."""
    import glob
    import os.path as osp

    from mmpretrain_multilabel.datasets.demo_scenes import DEMO_CLASSES

    from .training_recipe_utils import load_ckpt, train_1proc, train_2proc, write_tiny_config
    rng = np.random.RandomState(0)
    words = sorted({w for name in DEMO_CLASSES for w in name.split()} | {'kitten', 'rain'})
    vectors = tmp_path / 'vectors.txt'
    vectors.write_text(''.join(w + ' ' + ' '.join(f'{v:.4f}' for v in rng.randn(8)) + '\n'
                               for w in words))
    source = tmp_path / 'source.pth'
    torch.save({'classifier.weight': torch.randn(2, 16), 'classifier.bias': torch.zeros(2)},
               source)
    hook = dict(type='ClassifierTransferHook', source=str(source), linear_probe=True,
                source_classes=['kitten', 'rain'], word_vectors=str(vectors))
    config = write_tiny_config(  # learning rate ~0: the checkpoint holds the start
        tmp_path / 'tiny.py', tmp_path / 'data', max_epochs=1,
        extra=f'custom_hooks.append({hook!r})\noptim_wrapper = dict(optimizer=dict(lr=1e-12))\n')
    heads = []
    for train, work in ((train_1proc, tmp_path / 'one'), (train_2proc, tmp_path / 'two')):
        train(config, work)
        ckpt = load_ckpt(glob.glob(osp.join(work, 'epoch_1.pth'))[0])
        heads.append(ckpt['state_dict']['head.fc.weight'])
    assert heads[0].abs().sum() > 0
    torch.testing.assert_close(heads[1], heads[0], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_fit_start_saves_the_start_that_test_py_evaluates(coco128_root, tmp_path):
    """tools/fit_start.py writes the config's start (transferred and fitted to
    48 coco128 photos) without training; tools/test.py scores it (the EMA
    weights, which the checkpoint holds equal to the model's) on 32 others
    exactly as the start model scores them, far above chance."""
    import os.path as osp

    from mmengine.config import Config
    from mmpretrain.registry import DATASETS

    from mmpretrain_multilabel.apis import build_runner, merge_test_args
    from mmpretrain_multilabel.apis.short_run import dataset_map, start_model
    from mmpretrain_multilabel.datasets import dataset_label_matrix
    from mmpretrain_multilabel.evaluation import chance_map

    from .scripts import load_script
    from .training_recipe_utils import ROOT
    config = osp.join(ROOT, 'configs', 'coco319',
                      'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py')
    photos = [f'train_dataloader.dataset.data_root={coco128_root}',
              'train_dataloader.dataset.indices=' + str(list(range(48))).replace(' ', ''),
              f'test_dataloader.dataset.data_root={coco128_root}',
              'test_dataloader.dataset.indices=' + str(list(range(48, 80))).replace(' ', '')]
    ckpt = load_script('tools/fit_start.py').main(
        [config, '--work-dir', str(tmp_path), '--cfg-options', *photos])
    tool = load_script('tools/test.py')
    args = tool.parse_args([config, ckpt, '--work-dir', str(tmp_path / 'test'),
                            '--cfg-options', *photos])
    metrics = build_runner(merge_test_args(Config.fromfile(config), args)).test()
    cfg = Config.fromfile(config)
    cfg.train_dataloader.dataset.update(data_root=coco128_root, indices=list(range(48)))
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=coco128_root,
                             indices=list(range(48, 80))))
    expected = dataset_map(start_model(cfg, ds.metainfo['classes']), ds)
    assert metrics['multi-label/mAP'] == pytest.approx(expected, abs=1e-3)  # the EMA weights
    assert expected > chance_map(dataset_label_matrix(ds)) + 20
