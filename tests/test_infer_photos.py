"""tools/infer.py on real photos of any size (the coco128 fixture): a
demo checkpoint, its ONNX and its OpenVINO export give the same labels; bad
files in the input are reported and skipped (or stop the run with
--strict); a config whose test pipeline does not resize still works."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint
from mmpretrain.registry import MODELS
from PIL import Image

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis import inference
from mmpretrain_multilabel.datasets import DEMO_CLASSES
from mmpretrain_multilabel.deployment import load_exported

from .scripts import load_script

pytestmark = pytest.mark.slow  # exports and real photos

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'demo', 'lite0_mld-aam_1xb32_demo-128px.py')
infer = load_script('tools/infer.py')
export_tool = load_script('tools/deployment/export.py')

HAS_OPENVINO = importlib.util.find_spec('openvino') is not None
NUM_PHOTOS = 24  # of the 128: enough sizes and aspect ratios, a short test
ATOL = {'onnx': 1e-4, 'xml': 1e-3}


@pytest.fixture(scope='module')
def photos(coco128_root):
    """The first coco128 photos."""
    root = osp.join(coco128_root, 'train2017')
    files = sorted(osp.join(root, f) for f in os.listdir(root) if f.endswith('.jpg'))
    return files[:NUM_PHOTOS]


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The shipped ML-Decoder demo config (its test pipeline resizes to
    128 px) with random weights: checkpoint, ONNX and OpenVINO export."""
    root = tmp_path_factory.mktemp('photos')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO).model).eval()
    ckpt = str(root / 'demo.pth')
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=list(DEMO_CLASSES)))), ckpt)
    out = dict(root=root, ckpt=ckpt,
               onnx=export_tool.main([DEMO, ckpt, '--format', 'onnx']))
    if HAS_OPENVINO:
        out['xml'] = export_tool.main([DEMO, ckpt, '--format', 'openvino'])
    return out


def bad_folder(tmp_path, photos):
    """A folder of photos (links) with a corrupt JPEG, an empty file, a text
    file named .png and a broken link among them."""
    folder = tmp_path / 'photos'
    folder.mkdir()
    for p in photos:
        os.symlink(p, folder / osp.basename(p))
    (folder / '000000000001_corrupt.jpg').write_bytes(open(photos[0], 'rb').read()[:300])
    (folder / '000000000002_empty.jpg').write_bytes(b'')
    (folder / 'notes.png').write_text('not an image')
    os.symlink(tmp_path / 'gone.jpg', folder / 'broken_link.jpg')
    bad = sorted(str(folder / n) for n in ('000000000001_corrupt.jpg', '000000000002_empty.jpg',
                                           'notes.png', 'broken_link.jpg'))
    return folder, bad


def test_checkpoint_onnx_openvino_agree_on_photos_with_bad_files(tmp_path, photos, demo):
    sizes = {Image.open(p).size for p in photos}
    assert len(sizes) > 3  # photos of many sizes: the test pipeline must resize
    folder, bad = bad_folder(tmp_path, photos)
    runs = {}
    for name in ['ckpt', 'onnx'] + (['xml'] if HAS_OPENVINO else []):
        with pytest.warns(UserWarning, match='skipped image'):
            runs[name] = infer.main([DEMO, demo[name], str(folder), '--out-dir',
                                     str(tmp_path / name), '--batch-size', '5',
                                     '--no-progress'])
        saved = json.loads((tmp_path / name / 'predictions.json').read_text())
        assert sorted(e['image'] for e in saved['errors']) == bad
        assert all(e['error'] for e in saved['errors'])
        assert [p['image'] for p in saved['predictions']] == [
            str(folder / osp.basename(p)) for p in photos]
    want = runs.pop('ckpt')
    assert want['scores'].shape == (len(photos), len(DEMO_CLASSES))
    assert any(want['labels'])
    for name, got in runs.items():
        assert got['paths'] == want['paths']
        np.testing.assert_allclose(got['scores'], want['scores'], rtol=0, atol=ATOL[name])
        assert [[c for c, _ in lab] for lab in got['labels']] == [
            [c for c, _ in lab] for lab in want['labels']]

    with pytest.raises(infer.BadImageError, match='000000000001_corrupt.jpg'):
        infer.main([DEMO, demo['onnx'], str(folder), '--out-dir', str(tmp_path / 'strict'),
                    '--strict', '--no-progress'])


@pytest.mark.skipif(not HAS_OPENVINO, reason='openvino is not importable')
def test_openvino_compiles_in_the_requested_precision(demo):
    import openvino.properties.hint as hints
    model = load_exported(demo['xml'])
    assert model.requested_precision == 'fp32' and model.precision == 'fp32'
    assert model.compiled.get_property(hints.inference_precision()).get_type_name() == 'f32'
    # the CPU's own, or fp32 where it has none; OpenVINO's CPU plugin runs an fp16 request in
    # bf16 on a CPU with bf16 but without fp16 arithmetic (AVX512-BF16 without AVX512-FP16)
    compiled_as = {'bf16': ('bf16', 'fp32'), 'fp16': ('fp16', 'bf16', 'fp32')}
    for precision, allowed in compiled_as.items():
        other = load_exported(demo['xml'], precision=precision)
        assert other.requested_precision == precision
        assert other.precision in allowed
    with pytest.raises(ValueError, match='unknown inference precision'):
        load_exported(demo['xml'], precision='int4')
    with pytest.raises(ValueError, match='OpenVINO'):
        load_exported(demo['onnx'], precision='bf16')


def test_infer_exit_status_says_whether_images_failed(tmp_path, photos, demo):
    folder, bad = bad_folder(tmp_path, photos[:2])
    tool = osp.join(ROOT, 'tools', 'infer.py')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))
    common = ['--out-dir', str(tmp_path / 'out'), '--no-progress']
    res = subprocess.run([sys.executable, tool, DEMO, demo['onnx'], str(folder), *common],
                         capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 1, res.stderr[-2000:]
    assert f'2 of {2 + len(bad)} images predicted' in res.stdout
    assert all(f'skipped {b}' in res.stderr for b in bad)
    res = subprocess.run([sys.executable, tool, DEMO, demo['onnx'], *photos[:2], *common],
                         capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]


def test_pipeline_without_resize_predicts_photos_of_any_size(tmp_path, photos, demo):
    """A config whose test pipeline keeps the image size: the checkpoint
    predicts each photo at its own size (batches of equal shape, the same
    scores as one at a time); an exported model gets its input size
    appended to the pipeline and equals the resizing config's scores."""
    no_resize = tmp_path / 'no_resize.py'
    no_resize.write_text(f"_base_ = [{DEMO!r}]\n"
                         "test_dataloader = dict(dataset=dict(pipeline=["
                         "dict(type='LoadImageFromFile'), dict(type='PackInputs')]))\n")
    photos = photos[:8]
    out = str(tmp_path / 'out')
    batched = infer.main([str(no_resize), demo['ckpt'], *photos, '--batch-size', '4',
                          '--out-dir', out, '--no-progress'])
    single = infer.main([str(no_resize), demo['ckpt'], *photos, '--batch-size', '1',
                         '--out-dir', out, '--no-progress'])
    assert batched['paths'] == single['paths'] == photos
    np.testing.assert_allclose(batched['scores'], single['scores'], rtol=0, atol=1e-5)
    resized = infer.main([DEMO, demo['ckpt'], *photos, '--out-dir', out, '--no-progress'])
    assert np.abs(resized['scores'] - batched['scores']).max() > 1e-3  # other sizes seen

    exported = infer.main([str(no_resize), demo['onnx'], *photos, '--out-dir', out,
                           '--no-progress'])
    np.testing.assert_allclose(exported['scores'], resized['scores'], rtol=0, atol=1e-4)


def test_batches_by_shape_groups_equal_shapes_in_input_order():
    shapes = [(3, 4, 5), (3, 5, 4), (3, 4, 5), (3, 4, 5), (3, 5, 4)]
    items = [(i, dict(inputs=torch.zeros(s))) for i, s in enumerate(shapes)]
    got = [idx for idx, _ in inference.batches_by_shape(items, 2)]
    assert got == [[0, 2], [1, 4], [3]]
    assert sorted(sum(got, [])) == list(range(len(shapes)))
    for _, samples in inference.batches_by_shape(items, 2):
        assert len({tuple(s['inputs'].shape) for s in samples}) == 1


def test_every_shipped_config_resizes_to_its_training_size():
    from mmpretrain_multilabel.deployment import config_input_size
    configs = [osp.join(d, f) for d, _, fs in os.walk(osp.join(ROOT, 'configs'))
               for f in fs if f.endswith('.py') and '_base_' not in d]
    assert len(configs) > 30
    for path in configs:
        cfg = Config.fromfile(path)
        pipeline = cfg.test_dataloader.dataset.pipeline
        assert inference.fixes_input_size(pipeline), path
        train = cfg.train_dataloader.dataset
        sizes = [s['scale'] for s in train.get('pipeline', []) if s.get('type') == 'Resize']
        trained = (sizes[-1][1], sizes[-1][0]) if sizes else (train.img_size, train.img_size)
        assert config_input_size(cfg) == trained, path
