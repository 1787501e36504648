"""Convert a pickled multilabel annotation file to MMPretrain's JSON format.

Several public multilabel releases ship their image lists and labels as
Python pickles (``*.pkl``). Unpickling runs code chosen by whoever wrote the
file, so this tool refuses to open one unless you pass ``--trust-pickle``
(only for files from a source you trust). Even then it unpickles with an
allow-list (Python containers, NumPy arrays); ``--unrestricted`` lifts it,
e.g. for pandas objects.

Accepted structures:

- MMPretrain's own ``{"metainfo": {...}, "data_list": [...]}``;
- a list of samples, each a dict with an image key (``img_path``,
  ``file_name``, ``filename``, ``image``, ``img``, ``path``, ``name``) and a
  label key (``gt_label``, ``labels``, ``label``, ``target``, ``targets``);
- a dict ``{image path: labels}``;
- a dict with a list of images (``images``, ``img_paths``, ``image_names``,
  ``names``) and a label matrix or list (``labels``, ``targets``,
  ``label_matrix``), optionally ``classes`` / ``class_names`` /
  ``categories``.

Labels may be class ids, class names, or a 0/1 vector over the classes
(-1 entries, "unknown", become ``gt_label_ignore``).

Usage::

    python tools/dataset_converters/pickle_to_multilabel_json.py ann.pkl \\
        --trust-pickle --out ann.json [--classes classes.txt]
"""
import argparse
import io
import json
import os
import os.path as osp
import pickle
import sys
from typing import List, Optional

import numpy as np

IMAGE_KEYS = ('img_path', 'file_name', 'filename', 'image', 'img', 'path',
              'name')
LABEL_KEYS = ('gt_label', 'labels', 'label', 'target', 'targets')
LIST_KEYS = ('images', 'img_paths', 'image_names', 'names', 'image_list')
MATRIX_KEYS = ('labels', 'targets', 'label_matrix', 'gt_labels')
CLASS_KEYS = ('classes', 'class_names', 'categories', 'concepts')

# Globals a plain annotation pickle may need: containers and NumPy arrays.
SAFE_GLOBALS = {
    ('collections', 'OrderedDict'), ('collections', 'defaultdict'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'slice'),
    ('builtins', 'complex'), ('builtins', 'bytearray'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only builds allow-listed globals."""

    def find_class(self, module, name):
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'the pickle needs {module}.{name}, which is not on the '
            'allow-list of plain annotation data; if you trust the file, '
            'rerun with --unrestricted')


def load_pickle(path: str, trust: bool, unrestricted: bool = False):
    """Unpickle ``path`` only with the user's explicit ``trust``."""
    if not trust:
        raise SystemExit(
            f'refusing to unpickle {path}: loading a pickle runs code from '
            'the file. Rerun with --trust-pickle only if you trust its '
            'source.')
    with open(path, 'rb') as f:
        raw = f.read()
    if unrestricted:
        return pickle.loads(raw)
    return RestrictedUnpickler(io.BytesIO(raw)).load()


def _first(d: dict, keys):
    for k in keys:
        if k in d:
            return k
    return None


def _as_list(x):
    return x.tolist() if isinstance(x, np.ndarray) else list(x)


def to_samples(obj, source: str):
    """``(list of (image, labels), classes or None)`` from a loaded pickle."""
    classes = None
    if isinstance(obj, dict):
        ck = _first(obj, CLASS_KEYS)
        if ck is not None:
            classes = [str(c['name']) if isinstance(c, dict) else str(c)
                       for c in _as_list(obj[ck])]
        if 'data_list' in obj:
            meta = obj.get('metainfo') or {}
            classes = classes or meta.get('classes')
            obj = obj['data_list']
        elif _first(obj, LIST_KEYS) is not None and \
                _first(obj, MATRIX_KEYS) is not None:
            images = _as_list(obj[_first(obj, LIST_KEYS)])
            labels = obj[_first(obj, MATRIX_KEYS)]
            labels = list(labels) if isinstance(labels, np.ndarray) else \
                _as_list(labels)
            if len(images) != len(labels):
                raise SystemExit(f'{source}: {len(images)} images but '
                                 f'{len(labels)} label rows')
            return list(zip(map(str, images), labels)), classes
        else:
            return [(str(k), v) for k, v in obj.items()
                    if k not in CLASS_KEYS], classes
    if isinstance(obj, (list, tuple)):
        samples = []
        for i, item in enumerate(obj):
            if not isinstance(item, dict):
                raise SystemExit(f'{source}: sample {i} is a '
                                 f'{type(item).__name__}, expected a dict')
            ik, lk = _first(item, IMAGE_KEYS), _first(item, LABEL_KEYS)
            if ik is None or lk is None:
                raise SystemExit(
                    f'{source}: sample {i} has keys {sorted(item)}; need '
                    f'one of {IMAGE_KEYS} and one of {LABEL_KEYS}')
            samples.append((str(item[ik]), item[lk]))
        return samples, classes
    raise SystemExit(f'{source}: unsupported structure '
                     f'{type(obj).__name__}')


def _is_multi_hot(values: list, num_classes: Optional[int]) -> bool:
    return (num_classes is not None and num_classes > 2 and
            len(values) == num_classes and
            all(isinstance(v, (int, float, bool, np.integer, np.floating,
                               np.bool_)) and v in (-1, 0, 1)
                for v in values))


def convert(samples, classes: Optional[List[str]], source: str,
            img_prefix: str = ''):
    """MMPretrain data_list (validated) and the class list."""
    names_needed = classes is None
    if names_needed:
        found = set()
        for _, lab in samples:
            vals = _as_list(lab) if not isinstance(lab, (str, int)) else [lab]
            found.update(v for v in vals if isinstance(v, str))
        if found:
            classes = sorted(found)
    num_classes = len(classes) if classes is not None else None
    index = {c: i for i, c in enumerate(classes or [])}
    data_list, seen = [], {}
    for i, (img, lab) in enumerate(samples):
        if img in seen:
            raise SystemExit(f'{source}: duplicate image {img!r} (samples '
                             f'{seen[img]} and {i})')
        seen[img] = i
        vals = [lab] if isinstance(lab, (str, int, np.integer)) else \
            _as_list(lab)
        ignore = []
        if _is_multi_hot(vals, num_classes):
            pos = [c for c, v in enumerate(vals) if v == 1]
            ignore = [c for c, v in enumerate(vals) if v == -1]
        else:
            pos = []
            for v in vals:
                if isinstance(v, str):
                    if v not in index:
                        raise SystemExit(f'{source}: sample {i} ({img}): '
                                         f'unknown class name {v!r}')
                    pos.append(index[v])
                else:
                    if num_classes is None:
                        raise SystemExit(
                            f'{source}: labels are class ids; give the class '
                            'list with --classes')
                    if int(v) != v or not 0 <= int(v) < num_classes:
                        raise SystemExit(
                            f'{source}: sample {i} ({img}): label id {v!r} '
                            f'out of range [0, {num_classes})')
                    pos.append(int(v))
        info = dict(img_path=osp.join(img_prefix, img) if img_prefix else img,
                    gt_label=sorted(set(pos)))
        if ignore:
            info['gt_label_ignore'] = ignore
        data_list.append(info)
    if not data_list:
        raise SystemExit(f'{source}: no samples')
    if classes is None:
        raise SystemExit(f'{source}: no class list found; give --classes')
    return data_list, list(classes)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert a pickled multilabel annotation file to "
        "MMPretrain's MultiLabelDataset JSON")
    parser.add_argument('pickle', help='the .pkl file')
    parser.add_argument('--trust-pickle', action='store_true',
                        help='you trust the file: allow unpickling it')
    parser.add_argument('--unrestricted', action='store_true',
                        help='lift the allow-list (needs --trust-pickle)')
    parser.add_argument('--out', help='output JSON (default: beside the '
                        'input, .json)')
    parser.add_argument('--classes', help='class list file, one per line')
    parser.add_argument('--img-prefix', default='',
                        help='prefix prepended to the image paths')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.pickle):
        raise SystemExit(f'not found: {args.pickle}')
    obj = load_pickle(args.pickle, args.trust_pickle, args.unrestricted)
    samples, classes = to_samples(obj, args.pickle)
    if args.classes:
        with open(args.classes) as f:
            classes = [s.strip() for s in f if s.strip()]
    data_list, classes = convert(samples, classes, args.pickle,
                                 args.img_prefix)
    out = args.out or osp.splitext(args.pickle)[0] + '.json'
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(dict(metainfo=dict(classes=classes), data_list=data_list),
                  f)
    print(f'{args.pickle}: {len(data_list)} images, {len(classes)} classes '
          f'-> {out}')
    return out


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
