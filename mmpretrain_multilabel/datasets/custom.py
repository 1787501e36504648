"""Your own multilabel data: MMPretrain's JSON format and a CSV/TXT format.

Both loaders validate their input and name the file and line (or JSON
field) of every problem: unknown class names, label ids out of range,
duplicate images, malformed lines, empty files; missing and corrupt images
are checked at load time with ``check_images`` (see
:class:`~.base_multilabel.MultiLabelBase`).
"""
import csv
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from mmpretrain.registry import DATASETS

from .base_multilabel import IGNORE_KEYS, MultiLabelBase
from .validation import (
    check_duplicates,
    check_file,
    check_label_ids,
    format_error,
    names_to_ids,
    read_class_names,
    read_json,
)

HEADER_NAMES = ('image_path', 'img_path', 'image', 'img', 'path', 'file',
                'filename', 'file_name')


def join_prefix(prefix: str, path: str) -> str:
    return osp.join(prefix, path) if prefix else path


def read_csv_rows(file: str, sep: str = ',', header: Union[bool, str] = 'auto'
                  ) -> Iterator[Tuple[int, List[str]]]:
    """(line number, fields) of the data lines of a CSV/TXT list.

    Blank lines and lines starting with ``#`` are skipped; with
    ``header='auto'`` the first line is a header when its first field is a
    usual column name (``image_path``, ``path``, ``filename``...).
    """
    check_file(file)
    with open(file, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f, delimiter=sep, skipinitialspace=True)
        first = True
        for fields in reader:
            line = reader.line_num
            if not fields or not ''.join(fields).strip() or \
                    fields[0].lstrip().startswith('#'):
                continue
            if first:
                first = False
                if header is True or (header == 'auto' and
                                      fields[0].strip().lower()
                                      in HEADER_NAMES):
                    continue
            yield line, fields


def split_label_names(field: str, label_sep: str = ';') -> List[str]:
    """Label names of a CSV label field (empty names are dropped)."""
    return [n for n in (t.strip() for t in field.split(label_sep)) if n]


def parse_labels(value, class_to_idx: dict, num_classes: int, file: str,
                 line: Optional[int] = None,
                 field: Optional[str] = None) -> List[int]:
    """Label ids from ids or class names, checked, sorted and unique."""
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise format_error(file, f'labels must be a list of class ids or '
                           f'names, got {value!r}', line=line, field=field)
    names = [v for v in value if isinstance(v, str)]
    ids = [v for v in value if not isinstance(v, str)]
    out = check_label_ids(ids, num_classes, file, line, field)
    out += names_to_ids(names, class_to_idx, file, line, field)
    return sorted(set(out))


@DATASETS.register_module()
class CheckedMultiLabelDataset(MultiLabelBase):
    """MMPretrain's ``MultiLabelDataset`` JSON format, validated.

    The file is the stock format::

        {"metainfo": {"classes": ["cat", "dog", "car"]},
         "data_list": [{"img_path": "a.jpg", "gt_label": [0, 2]},
                       {"img_path": "b.jpg", "gt_label": ["dog"]}]}

    ``gt_label`` holds class ids or class names (names are mapped to ids);
    ``gt_label_difficult`` / ``gt_label_ignore`` (ignored labels, see
    :class:`~.transforms.MarkIgnoredLabels`) are checked alike. Errors name
    the file and the field, e.g. ``data_list[3].gt_label``. Classes come from
    the ``classes``/``metainfo`` arguments, else from the file's metainfo.

    Args:
        ann_file (str): The JSON file.
        **kwargs: Arguments of :class:`MultiLabelBase` and MMPretrain's
            ``BaseDataset`` (``data_root``, ``data_prefix``, ``classes``,
            ``check_images``, ``pipeline``, ...).
    """

    def load_data_list(self) -> List[dict]:
        file = self.ann_file
        ann = read_json(file)
        if not isinstance(ann, dict) or 'data_list' not in ann:
            raise format_error(file, "expected a JSON object with 'data_list'"
                               " (and 'metainfo': {'classes': [...]})")
        meta = ann.get('metainfo', {})
        if not isinstance(meta, dict):
            raise format_error(file, 'metainfo must be an object',
                               field='metainfo')
        for k, v in meta.items():
            self._metainfo.setdefault(k, v)
        if self._metainfo.get('classes') is None:
            raise format_error(file, 'no class list: give classes= or '
                               'metainfo.classes in the file',
                               field='metainfo.classes')
        classes = read_class_names(list(self._metainfo['classes']),
                                   f'{file} (metainfo.classes)')
        self._metainfo['classes'] = classes
        class_to_idx = {c: i for i, c in enumerate(classes)}
        items = ann['data_list']
        if not isinstance(items, list):
            raise format_error(file, 'data_list must be a list',
                               field='data_list')
        if not items:
            raise format_error(file, 'data_list is empty', field='data_list')
        prefix = self.img_prefix
        data_list = []
        for i, item in enumerate(items):
            at = f'data_list[{i}]'
            if not isinstance(item, dict):
                raise format_error(file, 'each sample must be an object',
                                   field=at)
            path = item.get('img_path')
            if not isinstance(path, str) or not path:
                raise format_error(file, 'missing or empty img_path',
                                   field=f'{at}.img_path')
            if 'gt_label' not in item:
                raise format_error(file, 'missing gt_label',
                                   field=f'{at}.gt_label')
            info = dict(item)
            info['img_path'] = join_prefix(prefix, path)
            for key in ('gt_label', ) + IGNORE_KEYS:
                if key in item:
                    info[key] = parse_labels(item[key], class_to_idx,
                                             len(classes), file,
                                             field=f'{at}.{key}')
            data_list.append(info)
        check_duplicates([d['img_path'] for d in data_list], file,
                         what='image')
        return data_list


@DATASETS.register_module()
class CsvMultiLabelDataset(MultiLabelBase):
    """A CSV/TXT list of images and label names, with a class list.

    One image per line, its labels separated by ``label_sep``::

        image_path,labels
        img/0001.jpg,cat;dog
        img/0002.jpg,car
        img/0003.jpg,

    An empty label field is an all-negative image (``allow_empty=True``).
    A header line is detected when its first field is one of
    ``image_path``, ``img_path``, ``image``, ``path``, ``filename``...
    Blank lines and lines starting with ``#`` are skipped. Paths are
    relative to ``data_prefix`` (itself relative to ``data_root``). Fields
    may be quoted as in any CSV (``"a,b.jpg",cat``).

    Args:
        ann_file (str): The CSV/TXT file.
        classes (str | Sequence[str]): The class list (a file with one name
            per line, or names); it fixes the label ids. Required (or
            ``metainfo=dict(classes=...)``).
        sep (str): Field separator. Defaults to ``','``.
        label_sep (str): Separator of the label names. Defaults to ``';'``.
        header (bool | str): ``'auto'`` (default), True or False.
        allow_empty (bool): Accept images without labels. Defaults to True.
        **kwargs: Arguments of :class:`MultiLabelBase` and MMPretrain's
            ``BaseDataset``.
    """

    def __init__(self,
                 ann_file: str,
                 classes: Union[str, Sequence[str], None] = None,
                 sep: str = ',',
                 label_sep: str = ';',
                 header: Union[bool, str] = 'auto',
                 allow_empty: bool = True,
                 **kwargs):
        if header not in (True, False, 'auto'):
            raise ValueError(f"CsvMultiLabelDataset: header must be True, "
                             f"False or 'auto', got {header!r}")
        if len(sep) != 1 or sep == label_sep:
            raise ValueError(f'CsvMultiLabelDataset: sep must be one '
                             f'character other than label_sep, got {sep!r}')
        metainfo = kwargs.get('metainfo') or {}
        if classes is None and metainfo.get('classes') is None:
            raise ValueError(
                f'CsvMultiLabelDataset({ann_file!r}): classes is required '
                '(a list of names or a file with one name per line); it fixes '
                'the label ids across splits')
        if isinstance(classes, str):
            classes = read_class_names(classes)
        self.sep = sep
        self.label_sep = label_sep
        self.header = header
        self.allow_empty = allow_empty
        super().__init__(ann_file=ann_file, classes=classes, **kwargs)

    def load_data_list(self) -> List[dict]:
        file = self.ann_file
        classes = read_class_names(list(self._metainfo['classes']),
                                   'classes')
        self._metainfo['classes'] = classes
        class_to_idx = {c: i for i, c in enumerate(classes)}
        prefix = self.img_prefix
        data_list, lines = [], []
        for line, fields in read_csv_rows(file, self.sep, self.header):
            if len(fields) != 2:
                hint = ''
                if len(fields) > 2:
                    hint = (f'; separate labels with {self.label_sep!r}, or '
                            'quote paths that contain the separator')
                elif len(fields) == 1:
                    hint = f' (is the separator {self.sep!r}?)'
                raise format_error(
                    file, f'malformed line: expected 2 fields '
                    f'"image_path{self.sep}labels", got {len(fields)}{hint}',
                    line=line)
            path, label_field = fields[0].strip(), fields[1].strip()
            if not path:
                raise format_error(file, 'empty image path', line=line,
                                   field='image_path')
            names = split_label_names(label_field, self.label_sep)
            if not names and not self.allow_empty:
                raise format_error(file, 'no labels (allow_empty=False)',
                                   line=line, field='labels')
            labels = names_to_ids(names, class_to_idx, file, line, 'labels')
            data_list.append(dict(img_path=join_prefix(prefix, path),
                                  gt_label=sorted(set(labels))))
            lines.append(line)
        if not data_list:
            raise format_error(file, 'no samples (the file has no data '
                               'lines)')
        check_duplicates([d['img_path'] for d in data_list], file, lines,
                         what='image')
        return data_list

    def extra_repr(self) -> List[str]:
        return [f'Annotation file: \t{self.ann_file}',
                f'Prefix of images: \t{self.img_prefix}',
                f'Separators: \t{self.sep!r} / {self.label_sep!r}']
