"""An embedded multilabel demo dataset: synthetic scenes drawn on the fly.

No download is needed: images are generated deterministically from a seed and
cached on disk (PNG + an MMPretrain ``MultiLabelDataset`` annotation file) the
first time the dataset is built.

Each image is a *scene* (day sky, night sky, harbour, street, garden, beach)
whose objects are drawn from scene-specific probabilities, so that label
co-occurrence carries real information (``moon`` and ``star`` go together,
``sun`` and ``moon`` almost never do). Objects are drawn at random sizes,
positions and colours over textured backgrounds and may occlude each other; a
class is labelled only if enough of its pixels stay visible.
"""
import fcntl
import hashlib
import json
import math
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS
from PIL import Image, ImageDraw

DEMO_CLASSES = ('sun', 'moon', 'star', 'cloud', 'bird', 'kite', 'house',
                'tree', 'car', 'flower', 'boat', 'fish', 'umbrella', 'ball')

# scene name -> (probability of the scene, {class: probability of presence})
SCENES: Dict[str, Tuple[float, Dict[str, float]]] = {
    'day sky': (0.18, dict(sun=0.7, cloud=0.7, bird=0.5, kite=0.45, tree=0.2)),
    'night sky': (0.14, dict(moon=0.75, star=0.85, cloud=0.25, house=0.35)),
    'harbour': (0.16, dict(boat=0.8, fish=0.5, bird=0.35, sun=0.3,
                           cloud=0.3)),
    'street': (0.18, dict(car=0.8, house=0.7, tree=0.45, umbrella=0.25,
                          cloud=0.2)),
    'garden': (0.18, dict(flower=0.8, tree=0.6, house=0.3, ball=0.35,
                          bird=0.25)),
    'beach': (0.16, dict(umbrella=0.7, ball=0.55, sun=0.5, boat=0.3,
                         fish=0.2)),
}

# Fraction of an object's own pixels that must stay visible for its label.
MIN_VISIBLE_FRACTION = 0.3
GENERATOR_VERSION = 3


def _rand_colour(rng: np.random.RandomState) -> Tuple[int, int, int]:
    return tuple(int(c) for c in rng.randint(20, 236, size=3))


def _star_points(cx, cy, r, n=5, inner=0.45, rot=0.0):
    pts = []
    for i in range(2 * n):
        rad = r if i % 2 == 0 else r * inner
        a = rot + math.pi * i / n - math.pi / 2
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


def _crescent_points(cx, cy, r, steps=24):
    # outer arc on the left, inner arc of a shifted circle back
    outer = [(cx + r * math.cos(a), cy + r * math.sin(a))
             for a in np.linspace(math.pi * .35, math.pi * 1.65, steps)]
    ox, orad = cx + r * .45, r * .8
    inner = [(ox + orad * math.cos(a), oy)
             for a, oy in ((a, cy + orad * math.sin(a))
                           for a in np.linspace(math.pi * 1.5, math.pi * .5,
                                                steps))]
    return outer + inner


def _draw_shape(draw: ImageDraw.ImageDraw, name: str, cx: float, cy: float,
                r: float, colour, second, rot: float) -> None:
    """Draw one object of class ``name`` centred at (cx, cy), radius ``r``,
    in a main and a second colour, rotated by ``rot`` where that applies.

    The same call draws into an RGB image and, with both colours 255, into a
    single-channel mask, so the mask is exact.
    """
    box = (cx - r, cy - r, cx + r, cy + r)
    if name == 'sun':
        draw.ellipse((cx - r * .55, cy - r * .55, cx + r * .55, cy + r * .55),
                     fill=colour)
        for i in range(8):
            a = math.pi * i / 4
            draw.line((cx + r * .7 * math.cos(a), cy + r * .7 * math.sin(a),
                       cx + r * math.cos(a), cy + r * math.sin(a)),
                      fill=colour, width=max(1, int(r * .12)))
    elif name == 'moon':
        draw.polygon(_crescent_points(cx, cy, r), fill=colour)
    elif name == 'star':
        draw.polygon(_star_points(cx, cy, r, rot=rot),
                     fill=colour)
    elif name == 'cloud':
        for dx, dy, s in ((-.45, .15, .5), (0, -.15, .6), (.45, .15, .5),
                          (0, .25, .45)):
            draw.ellipse((cx + dx * r - s * r, cy + dy * r - s * r * .7,
                          cx + dx * r + s * r, cy + dy * r + s * r * .7),
                         fill=colour)
    elif name == 'bird':
        w = max(2, int(r * .2))
        draw.line((cx - r, cy - r * .4, cx, cy + r * .3, cx + r, cy - r * .4),
                  fill=colour, width=w, joint='curve')
    elif name == 'kite':
        draw.polygon(((cx, cy - r), (cx + r * .6, cy - r * .1),
                      (cx, cy + r * .5), (cx - r * .6, cy - r * .1)),
                     fill=colour)
        draw.line((cx, cy + r * .5, cx - r * .3, cy + r * .8, cx + r * .1,
                   cy + r), fill=second, width=max(1, int(r * .08)))
    elif name == 'house':
        draw.rectangle((cx - r * .7, cy - r * .1, cx + r * .7, cy + r),
                       fill=colour)
        draw.polygon(((cx - r * .9, cy - r * .1), (cx, cy - r),
                      (cx + r * .9, cy - r * .1)), fill=second)
    elif name == 'tree':
        draw.rectangle((cx - r * .15, cy + r * .2, cx + r * .15, cy + r),
                       fill=second)
        draw.polygon(((cx - r * .7, cy + r * .3), (cx, cy - r),
                      (cx + r * .7, cy + r * .3)), fill=colour)
    elif name == 'car':
        draw.rectangle((cx - r, cy - r * .1, cx + r, cy + r * .45),
                       fill=colour)
        draw.rectangle((cx - r * .5, cy - r * .5, cx + r * .45, cy - r * .1),
                       fill=colour)
        for wx in (-.55, .55):
            draw.ellipse((cx + wx * r - r * .25, cy + r * .3,
                          cx + wx * r + r * .25, cy + r * .8), fill=second)
    elif name == 'flower':
        for i in range(6):
            a = math.pi * i / 3
            px, py = cx + r * .5 * math.cos(a), cy + r * .5 * math.sin(a)
            draw.ellipse((px - r * .38, py - r * .38, px + r * .38,
                          py + r * .38), fill=colour)
        draw.ellipse((cx - r * .3, cy - r * .3, cx + r * .3, cy + r * .3),
                     fill=second)
    elif name == 'boat':
        draw.polygon(((cx - r, cy + r * .2), (cx + r, cy + r * .2),
                      (cx + r * .6, cy + r * .7), (cx - r * .6, cy + r * .7)),
                     fill=colour)
        draw.polygon(((cx, cy - r), (cx, cy + r * .15),
                      (cx + r * .7, cy + r * .15)), fill=second)
    elif name == 'fish':
        draw.ellipse((cx - r * .8, cy - r * .4, cx + r * .4, cy + r * .4),
                     fill=colour)
        draw.polygon(((cx + r * .3, cy), (cx + r, cy - r * .45),
                      (cx + r, cy + r * .45)), fill=colour)
    elif name == 'umbrella':
        draw.pieslice(box, 180, 360, fill=colour)
        draw.line((cx, cy, cx, cy + r * .9), fill=second,
                  width=max(1, int(r * .1)))
    elif name == 'ball':
        draw.ellipse((cx - r * .7, cy - r * .7, cx + r * .7, cy + r * .7),
                     fill=colour)
        draw.line((cx - r * .7, cy, cx + r * .7, cy), fill=second,
                  width=max(1, int(r * .15)))
    else:
        raise KeyError(f'No drawing rule for demo class {name!r}')


def _background(rng: np.random.RandomState, size: int) -> np.ndarray:
    """A textured background: a colour gradient, stripes and pixel noise."""
    top, bottom = rng.randint(0, 256, size=(2, 3))
    t = np.linspace(0, 1, size)[:, None, None]
    img = top * (1 - t) + bottom * t
    img = np.broadcast_to(img, (size, size, 3)).copy()
    freq, phase = rng.uniform(0.05, 0.4), rng.uniform(0, 2 * math.pi)
    angle = rng.uniform(0, math.pi)
    yy, xx = np.mgrid[:size, :size]
    stripes = np.sin(freq * (xx * math.cos(angle) + yy * math.sin(angle)) +
                     phase)
    img += stripes[..., None] * rng.uniform(5, 35)
    img += rng.normal(0, rng.uniform(4, 20), size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def render_scene(seed: int,
                 img_size: int = 128,
                 classes: Sequence[str] = DEMO_CLASSES,
                 max_distractors: int = 3,
                 with_owner_map: bool = False) -> Tuple[Image.Image, dict]:
    """Render one deterministic scene.

    Args:
        seed (int): Seed of this image; the same seed gives the same image.
        img_size (int): Side of the square image in pixels.
        classes (Sequence[str]): Class names (order defines label ids).
        max_distractors (int): Maximum number of unlabelled blobs drawn as
            clutter (random ellipses and lines that are no class).
        with_owner_map (bool): Also return ``owner``, the index of the object
            visible at each pixel (-1 for background and clutter).

    Returns:
        tuple: The RGB image and a dict with ``scene``, ``gt_label`` (sorted
        label ids of visible objects) and ``objects`` (per drawn object: class
        name, its two colours, centre, radius, pixel area, visible pixel count and
        whether it is labelled).
    """
    rng = np.random.RandomState(seed)
    names = list(SCENES)
    probs = np.array([SCENES[n][0] for n in names])
    scene = names[rng.choice(len(names), p=probs / probs.sum())]
    presence = SCENES[scene][1]
    present = [c for c, p in presence.items() if rng.rand() < p]
    # A rare object from outside the scene keeps the structure from being
    # deterministic (a model must look, not only guess from context).
    if rng.rand() < 0.15:
        present.append(classes[rng.randint(len(classes))])
    if not present:
        present = [max(presence, key=presence.get)]
    instances = []
    for name in dict.fromkeys(present):
        for _ in range(1 + int(rng.rand() < 0.25)):
            instances.append(name)
    rng.shuffle(instances)

    img = Image.fromarray(_background(rng, img_size))
    draw = ImageDraw.Draw(img)
    # owner[y, x] = index of the object whose pixel is visible there (-1: none)
    owner = np.full((img_size, img_size), -1, dtype=np.int32)
    objects = []
    for idx, name in enumerate(instances):
        r = rng.uniform(0.08, 0.22) * img_size
        cx, cy = rng.uniform(r * .6, img_size - r * .6, size=2)
        colour, second = _rand_colour(rng), _rand_colour(rng)
        rot = rng.uniform(0, 1)
        _draw_shape(draw, name, cx, cy, r, colour, second, rot)
        mask_img = Image.new('L', (img_size, img_size), 0)
        _draw_shape(ImageDraw.Draw(mask_img), name, cx, cy, r, 255, 255, rot)
        mask = np.asarray(mask_img) > 0
        owner[mask] = idx
        objects.append(dict(name=name, colours=[list(colour), list(second)],
                            center=[float(cx), float(cy)],
                            radius=float(r), area=int(mask.sum())))
    for _ in range(rng.randint(max_distractors + 1)):
        # clutter that belongs to no class and may hide objects
        x0, y0 = rng.uniform(0, img_size, size=2)
        w, h = rng.uniform(0.03, 0.12, size=2) * img_size
        shape = Image.new('L', (img_size, img_size), 0)
        sd = ImageDraw.Draw(shape)
        if rng.rand() < 0.5:
            sd.ellipse((x0, y0, x0 + w, y0 + h), fill=255)
        else:
            sd.line((x0, y0, x0 + w * 2, y0 + h), fill=255,
                    width=int(rng.randint(1, 4)))
        draw.bitmap((0, 0), shape, fill=_rand_colour(rng))
        owner[np.asarray(shape) > 0] = -1

    visible = np.bincount(owner[owner >= 0].ravel(), minlength=len(objects))
    labels = set()
    for idx, obj in enumerate(objects):
        obj['visible'] = int(visible[idx])
        obj['labelled'] = bool(
            obj['area'] > 0
            and visible[idx] >= MIN_VISIBLE_FRACTION * obj['area'])
        if obj['labelled']:
            labels.add(classes.index(obj['name']))
    info = dict(scene=scene, gt_label=sorted(labels), objects=objects)
    if with_owner_map:
        info['owner'] = owner
    return img, info


def _image_seed(seed: int, split: str, index: int) -> int:
    digest = hashlib.sha256(f'{seed}/{split}/{index}'.encode()).digest()
    return int.from_bytes(digest[:4], 'little')


def generate_demo_split(root: str, split: str, num_images: int,
                        img_size: int, seed: int) -> str:
    """Write ``num_images`` scenes of ``split`` under ``root``.

    Returns:
        str: Path of the annotation file (MMPretrain ``MultiLabelDataset``
        format, with the drawn objects kept per sample for inspection).
    """
    img_dir = osp.join(root, split)
    os.makedirs(img_dir, exist_ok=True)
    data_list = []
    for i in range(num_images):
        img, info = render_scene(_image_seed(seed, split, i), img_size)
        rel = osp.join(split, f'{i:05d}.png')
        img.save(osp.join(root, rel))
        data_list.append(dict(img_path=rel, **info))
    ann = dict(metainfo=dict(classes=list(DEMO_CLASSES)), data_list=data_list)
    ann_file = osp.join(root, f'{split}.json')
    tmp = ann_file + f'.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(ann, f)
    os.replace(tmp, ann_file)  # the annotation file marks a complete split
    return ann_file


@DATASETS.register_module()
class DemoScenes(MultiLabelDataset):
    """Synthetic multilabel scenes, generated on first use (no download).

    Images are written once to ``data_root`` (``<data_root>/<split>/*.png``
    and ``<data_root>/<split>.json``) and reused afterwards; a change of
    ``num_images``, ``img_size`` or ``seed`` regenerates them. Concurrent
    processes (distributed training) wait for one writer through a file lock.

    Args:
        data_root (str): Cache directory of the generated images.
        split (str): ``'train'`` or ``'val'``; the splits use disjoint seeds.
        num_images (int): Number of images of this split.
        img_size (int): Side of the square images. Defaults to 128.
        seed (int): Seed of the whole dataset. Defaults to 0.
        **kwargs: Other arguments of :class:`MultiLabelDataset`
            (``pipeline``, ``test_mode``, ...).
    """

    METAINFO = dict(classes=DEMO_CLASSES)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 num_images: int = 2000,
                 img_size: int = 128,
                 seed: int = 0,
                 **kwargs):
        if split not in ('train', 'val'):
            raise ValueError(f"DemoScenes: split must be 'train' or 'val', "
                             f'got {split!r}')
        if num_images < 1:
            raise ValueError(f'DemoScenes: num_images must be >= 1, got '
                             f'{num_images}')
        ann_file = self.prepare(data_root, split, num_images, img_size, seed)
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    @staticmethod
    def prepare(data_root: str, split: str, num_images: int, img_size: int,
                seed: int) -> str:
        """Generate the split unless a matching cache exists; return its
        annotation file."""
        root = osp.abspath(osp.expanduser(data_root))
        os.makedirs(root, exist_ok=True)
        key = dict(version=GENERATOR_VERSION, num_images=num_images,
                   img_size=img_size, seed=seed)
        stamp = osp.join(root, f'{split}.stamp.json')
        with open(osp.join(root, '.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                ann_file = osp.join(root, f'{split}.json')
                if _read_json(stamp) != key or not osp.exists(ann_file):
                    generate_demo_split(root, split, num_images, img_size,
                                        seed)
                    with open(stamp, 'w') as f:
                        json.dump(key, f)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return ann_file


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
