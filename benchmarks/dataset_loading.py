"""Time ``CocoMultiLabel`` on a synthetic COCO-2017-sized instances JSON.

The file has the real train2017 shape: 118,287 images of which 117,266 carry
annotations, about 860,000 boxes over the 80 categories (ids 1..90 with
COCO's gaps), 1% crowd annotations, and per annotation the fields of the real
file (``id``, ``image_id``, ``category_id``, ``bbox``, ``area``,
``iscrowd``, ``segmentation``). Segmentations are short polygons (8
numbers); real polygons are longer, so the real file (448 MB) parses slower.

Printed side by side in one run:

- ``CocoMultiLabel`` (the whole dataset build: parse, group, serialise),
  with its byte scan (default) and with ``fast_scan=False`` (full parse);
- a naive loader with a Python dict of label sets filled per annotation, as
  peers' code does (pycocotools-style indexing), on the same file;
- the JSON parse alone with the stdlib and with orjson (when installed), as
  plain code runs it (cyclic GC on; the dataset pauses the GC while parsing).

Usage::

    python benchmarks/dataset_loading.py [--images 118287] [--boxes 860001]
        [--keep FILE]
"""
import argparse
import gc
import json
import os
import os.path as osp
import tempfile
import time

import numpy as np

from mmpretrain_multilabel.datasets import CocoMultiLabel, validation

COCO_CAT_IDS = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
    46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
    65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88,
    89, 90
]


def make_synthetic_coco(path: str, num_images: int = 118287,
                        num_annotated: int = 117266, num_boxes: int = 860001,
                        seed: int = 0) -> None:
    """Write a synthetic instances JSON of COCO-2017 train size."""
    rng = np.random.RandomState(seed)
    img_ids = np.sort(rng.choice(600000, num_images, replace=False)) + 1
    annotated = rng.choice(num_images, num_annotated, replace=False)
    # every annotated image gets one box, the rest are spread at random
    owners = np.concatenate([
        annotated,
        rng.choice(annotated, num_boxes - num_annotated, replace=True)
    ])
    rng.shuffle(owners)
    cat_p = rng.dirichlet(np.full(80, 0.5))  # skewed like COCO's
    cats = np.array(COCO_CAT_IDS)[rng.choice(80, num_boxes, p=cat_p)]
    crowd = (rng.rand(num_boxes) < 0.01).astype(int)
    boxes = np.round(rng.rand(num_boxes, 4) * 300, 2)
    images = [
        dict(license=1, file_name=f'{i:012d}.jpg', height=480, width=640,
             id=int(i)) for i in img_ids
    ]
    anns = []
    for k in range(num_boxes):
        x, y, w, h = boxes[k].tolist()
        anns.append(dict(
            segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
            area=round(w * h, 2), iscrowd=int(crowd[k]),
            image_id=int(img_ids[owners[k]]), bbox=[x, y, w, h],
            category_id=int(cats[k]), id=k + 1))
    categories = [dict(supercategory='thing', id=c, name=f'class_{c}')
                  for c in COCO_CAT_IDS]
    with open(path, 'w') as f:
        json.dump(dict(info={}, licenses=[], images=images, annotations=anns,
                       categories=categories), f)


def naive_load(path: str) -> list:
    """Per-annotation dict-of-sets loader (how peers index COCO)."""
    with open(path) as f:
        coco = json.load(f)
    cat_index = {c['id']: i for i, c in enumerate(
        sorted(coco['categories'], key=lambda c: c['id']))}
    labels = {}
    for ann in coco['annotations']:
        labels.setdefault(ann['image_id'], set()).add(
            cat_index[ann['category_id']])
    return [dict(img_path=im['file_name'], gt_label=sorted(labels[im['id']]))
            for im in coco['images'] if im['id'] in labels]


def timed(fn, *args, **kwargs):
    gc.collect()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=118287)
    parser.add_argument('--annotated', type=int, default=117266)
    parser.add_argument('--boxes', type=int, default=860001)
    parser.add_argument('--keep', help='write the JSON here and keep it')
    args = parser.parse_args(argv)

    tmp = None
    path = args.keep
    if path is None:
        tmp = tempfile.mkdtemp()
        path = osp.join(tmp, 'instances_synthetic.json')
    if not osp.exists(path):
        t, _ = timed(make_synthetic_coco, path, args.images, args.annotated,
                     args.boxes)
        print(f'built {path} ({os.path.getsize(path) / 2**20:.0f} MB) in '
              f'{t:.1f} s')
    try:
        t_ours, ds = timed(CocoMultiLabel, ann_file=path)
        n = len(ds)
        n_labels = sum(len(ds.get_data_info(i)['gt_label'])
                       for i in range(0, n, 97))
        del ds
        t_full, ds = timed(CocoMultiLabel, ann_file=path, fast_scan=False)
        assert len(ds) == n
        del ds
        t_naive, ref = timed(naive_load, path)
        assert len(ref) == n, (len(ref), n)

        def parse_stdlib():
            with open(path) as f:
                return json.load(f)

        t_json, obj = timed(parse_stdlib)
        del obj
        rows = [
            ('CocoMultiLabel (whole build)', t_ours),
            ('CocoMultiLabel(fast_scan=False): full JSON parse', t_full),
            ('naive per-annotation loader', t_naive),
            ('json.load alone (stdlib, GC on)', t_json),
        ]
        if validation.orjson is not None:
            def parse_orjson():
                with open(path, 'rb') as f:
                    return validation.orjson.loads(f.read())

            t_or, obj = timed(parse_orjson)
            del obj
            rows.append(('orjson.loads alone (GC on)', t_or))
        print(f'\n{n} annotated images, {args.boxes} boxes '
              f'(labels checked on every 97th sample: {n_labels})')
        print(f'JSON parser used by CocoMultiLabel: '
              f'{"orjson" if validation.orjson is not None else "stdlib"}')
        print('| step | seconds | vs CocoMultiLabel |\n|---|---|---|')
        for name, t in rows:
            print(f'| {name} | {t:.2f} | {t / t_ours:.2f}x |')
        verdict = 'OK' if t_ours < 10 else 'SLOWER THAN TARGET'
        print(f'\nCocoMultiLabel: {t_ours:.2f} s (target < 10 s): {verdict}')
    finally:
        if tmp is not None:
            os.remove(path)
            os.rmdir(tmp)


if __name__ == '__main__':
    main()
