"""Visual Genome 500 (the 500 most frequent object names), SSGRL's split.

The layout of SSGRL's public partition, read by C-Tran, ADD-GCN and the
paper's peers (82,904 train / 10,000 test images, 13.61 labels per image)::

    data/VG
    ├── VG_100K/*.jpg                        all images in one folder
    ├── train_list_500.txt                   one image file name per line
    ├── test_list_500.txt
    └── vg_category_500_labels_index.json    {"<file name>": [label ids]}

Label ids are 0..499. The public files carry no usable class names (the
paper: "unnamed labels"), so classes default to ``vg500_000`` ...
``vg500_499``; pass ``classes`` (a list, a text file, or a JSON list /
``{name: id}`` mapping) to name them.
"""
import os.path as osp
from typing import List, Optional

from mmpretrain.registry import DATASETS

from .base_multilabel import MultiLabelBase
from .validation import (
    check_duplicates,
    check_label_ids,
    format_error,
    read_class_names,
    read_json,
    read_lines,
)

VG500_NUM_CLASSES = 500
SPLITS = ('train', 'val', 'test')


def vg500_placeholder_classes(num_classes: int = VG500_NUM_CLASSES):
    return tuple(f'vg500_{i:03d}' for i in range(num_classes))


def read_vg_class_names(path: str, num_classes: int):
    """Class names from a text file, a JSON list or a JSON ``{name: id}``."""
    if not path.endswith('.json'):
        names = read_class_names(path)
    else:
        obj = read_json(path, 'class name file')
        if isinstance(obj, list):
            names = read_class_names([str(n) for n in obj], path)
        elif isinstance(obj, dict):
            by_id = {}
            for name, idx in obj.items():
                if not isinstance(idx, int) or isinstance(idx, bool):
                    raise format_error(path, f'id of {name!r} is not an '
                                       f'integer: {idx!r}', field=name)
                if idx < num_classes:
                    if idx in by_id:
                        raise format_error(path, f'id {idx} is given to '
                                           f'{by_id[idx]!r} and {name!r}')
                    by_id[idx] = name
            missing = [i for i in range(num_classes) if i not in by_id]
            if missing:
                raise format_error(path, f'no name for ids {missing[:5]} '
                                   f'(of 0..{num_classes - 1})')
            names = read_class_names([by_id[i] for i in range(num_classes)],
                                     path)
        else:
            raise format_error(path, 'expected a list of names or a '
                               '{name: id} object')
    if len(names) < num_classes:
        raise format_error(path, f'{len(names)} class names for '
                           f'{num_classes} classes')
    return tuple(names[:num_classes])


@DATASETS.register_module()
class VG500MultiLabel(MultiLabelBase):
    """Visual Genome 500 in SSGRL's / C-Tran's layout.

    Args:
        data_root (str): Dataset root (``data/VG``).
        split (str): ``'train'`` or ``'test'`` (``'val'`` is ``'test'``:
            the protocol has no separate validation split).
        list_file (str, optional): Image list relative to ``data_root``;
            defaults to ``{train,test}_list_500.txt``.
        label_file (str): Label index JSON relative to ``data_root``.
            Defaults to ``vg_category_500_labels_index.json``.
        data_prefix (str | dict): Image folder. Defaults to ``'VG_100K'``.
        classes (str | Sequence[str], optional): Class names (see module
            doc). Defaults to placeholder names.
        drop_empty (bool): Drop listed images without labels. Defaults to
            False (the lists define the protocol).
        **kwargs: Arguments of :class:`MultiLabelBase` and MMPretrain's
            ``BaseDataset``.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 list_file: Optional[str] = None,
                 label_file: str = 'vg_category_500_labels_index.json',
                 data_prefix='VG_100K',
                 classes=None,
                 drop_empty: bool = False,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'VG500MultiLabel: split must be one of '
                             f'{SPLITS}, got {split!r}')
        self.split = split
        self.drop_empty = drop_empty
        list_file = list_file or (
            'train_list_500.txt' if split == 'train' else 'test_list_500.txt')
        self.list_file = osp.join(data_root, list_file)
        self.label_file = osp.join(data_root, label_file)
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if classes is None and metainfo.get('classes') is None:
            classes = vg500_placeholder_classes()
        elif isinstance(classes, str):
            classes = read_vg_class_names(
                osp.join(data_root, classes) if not osp.isabs(classes) and
                not osp.exists(classes) else classes, VG500_NUM_CLASSES)
        super().__init__(ann_file='', data_root=data_root,
                         data_prefix=data_prefix, classes=classes,
                         metainfo=metainfo, **kwargs)

    @property
    def ann_source(self) -> str:
        return self.list_file

    def load_data_list(self) -> List[dict]:
        entries = read_lines(self.list_file, 'VG500 image list')
        index = read_json(self.label_file, 'VG500 label index')
        if not isinstance(index, dict):
            raise format_error(self.label_file, 'expected an object '
                               '{"<image file name>": [label ids]}')
        num_classes = len(self.CLASSES)
        names = [s for _, s in entries]
        lines = [i for i, _ in entries]
        check_duplicates(names, self.list_file, lines, what='image')
        prefix = self.img_prefix
        data_list = []
        for line, name in entries:
            ids = index.get(name)
            if ids is None:
                raise format_error(
                    self.list_file, f'image {name!r} has no entry in '
                    f'{self.label_file}', line=line)
            if not isinstance(ids, list):
                raise format_error(self.label_file, 'labels must be a list '
                                   f'of ids, got {ids!r}', field=name)
            labels = sorted(set(check_label_ids(ids, num_classes,
                                                self.label_file,
                                                field=name)))
            if self.drop_empty and not labels:
                continue
            data_list.append(dict(img_path=osp.join(prefix, name),
                                  gt_label=labels))
        return data_list

    def extra_repr(self) -> List[str]:
        return [f'Image list: \t{self.list_file}',
                f'Label index: \t{self.label_file}',
                f'Prefix of images: \t{self.img_prefix}']
