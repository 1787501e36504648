"""Input validation shared by the multilabel dataset loaders.

Every check raises :class:`DatasetFormatError` (a ``ValueError``) whose
message names the file and the line or field at fault, so a user can open the
file at the right place. The functions are small and pure; the datasets call
them while parsing, and :func:`check_image_files` runs the optional image
checks (``check_images``) at load time.
"""
import json
import os.path as osp
import warnings
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

try:  # optional: parses large annotation files several times faster
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None

CHECK_IMAGES_MODES = (False, True, 'exists', 'decode')
ON_CORRUPT_MODES = ('error', 'skip')


class DatasetFormatError(ValueError):
    """A malformed annotation file; the message names file and line/field."""


class CorruptImageError(ValueError):
    """An image file that exists but cannot be decoded."""


def where(file: str, line: Optional[int] = None,
          field: Optional[str] = None) -> str:
    """Format a location as ``file:line (field)`` for error messages."""
    loc = str(file)
    if line is not None:
        loc += f':{line}'
    if field is not None:
        loc += f' (field {field!r})'
    return loc


def format_error(file: str, message: str, line: Optional[int] = None,
                 field: Optional[str] = None) -> DatasetFormatError:
    """Build a :class:`DatasetFormatError` located at file/line/field."""
    return DatasetFormatError(f'{where(file, line, field)}: {message}')


def check_file(path: str, what: str = 'annotation file') -> None:
    """Raise a clear error if ``path`` is missing or empty."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    if osp.getsize(path) == 0:
        raise format_error(path, f'{what} is empty')


def read_json(path: str, what: str = 'annotation file'):
    """Read a JSON file (orjson when installed), with located errors."""
    check_file(path, what)
    with open(path, 'rb') as f:
        raw = f.read()
    if not raw.strip():
        raise format_error(path, f'{what} is empty (only whitespace)')
    try:
        if orjson is not None:
            return orjson.loads(raw)
        return json.loads(raw)
    except ValueError as e:
        # Re-parse with the stdlib for its line/column in the message.
        try:
            json.loads(raw)
        except json.JSONDecodeError as je:
            raise format_error(path, f'invalid JSON: {je.msg} '
                               f'(column {je.colno})', line=je.lineno) from e
        raise format_error(path, f'invalid JSON: {e}') from e


def read_lines(path: str, what: str = 'list file',
               allow_empty: bool = False) -> List[Tuple[int, str]]:
    """Non-blank, non-comment lines of a text file as (line number, text)."""
    check_file(path, what)
    with open(path, encoding='utf-8-sig') as f:
        lines = [(i, s.strip()) for i, s in enumerate(f, 1)]
    lines = [(i, s) for i, s in lines if s and not s.startswith('#')]
    if not lines and not allow_empty:
        raise format_error(path, f'{what} has no entries')
    return lines


def read_class_names(classes, source: str = 'classes') -> Tuple[str, ...]:
    """Class names from a sequence or a file (one name per line).

    Names must be non-empty and unique.
    """
    if isinstance(classes, str):
        names = [s for _, s in read_lines(classes, 'class list file')]
        source = classes
    elif isinstance(classes, (list, tuple)):
        names = [str(c) for c in classes]
    else:
        raise TypeError(f'{source}: expected a list of class names or a file '
                        f'path, got {type(classes).__name__}')
    if not names:
        raise format_error(source, 'the class list is empty')
    seen: Dict[str, int] = {}
    for i, name in enumerate(names):
        if not name.strip():
            raise format_error(source, f'class {i} has an empty name')
        if name in seen:
            raise format_error(
                source, f'class name {name!r} appears twice '
                f'(entries {seen[name]} and {i})')
        seen[name] = i
    return tuple(names)


def names_to_ids(names: Iterable[str], class_to_idx: Dict[str, int],
                 file: str, line: Optional[int] = None,
                 field: Optional[str] = None) -> List[int]:
    """Map label names to class ids; unknown names are located errors."""
    ids = []
    for name in names:
        idx = class_to_idx.get(name)
        if idx is None:
            known = ', '.join(list(class_to_idx)[:10])
            more = ', ...' if len(class_to_idx) > 10 else ''
            raise format_error(
                file, f'unknown class name {name!r} (known classes: '
                f'{known}{more})', line=line, field=field)
        ids.append(idx)
    return ids


def check_label_ids(ids: Sequence, num_classes: int, file: str,
                    line: Optional[int] = None,
                    field: Optional[str] = None) -> List[int]:
    """Check that label ids are integers in ``[0, num_classes)``."""
    out = []
    for v in ids:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                int(v) != v:
            raise format_error(file, f'label id {v!r} is not an integer',
                               line=line, field=field)
        v = int(v)
        if not 0 <= v < num_classes:
            raise format_error(
                file, f'label id {v} is out of range [0, {num_classes})',
                line=line, field=field)
        out.append(v)
    return out


def check_duplicates(keys: Sequence[str], file: str,
                     lines: Optional[Sequence[int]] = None,
                     what: str = 'image') -> None:
    """Raise on the first repeated key, naming both occurrences."""
    seen: Dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in seen:
            first = seen[key]
            if lines is not None:
                raise format_error(
                    file, f'duplicate {what} {key!r} (first at line '
                    f'{lines[first]})', line=lines[i])
            raise format_error(
                file, f'duplicate {what} {key!r} (entries {first} and {i})')
        seen[key] = i


def check_image_decodes(path: str) -> None:
    """Raise :class:`CorruptImageError` if ``path`` cannot be decoded."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            img.verify()
    except Exception as e:  # PIL raises many types for broken files
        raise CorruptImageError(
            f'corrupt image file {path}: {type(e).__name__}: {e}') from e


def check_image_files(data_list: List[dict], mode, on_corrupt: str,
                      source: str) -> List[dict]:
    """Check the images of ``data_list`` at load time.

    Args:
        data_list (list[dict]): Samples with ``img_path`` (local files).
        mode (bool | str): ``False``: no check; ``True``/``'exists'``: every
            image must exist; ``'decode'``: every image must also decode
            (slower: opens each file).
        on_corrupt (str): ``'error'`` raises on the first undecodable image;
            ``'skip'`` drops them and warns with their count. Missing images
            are always an error.
        source (str): Annotation file named in the messages.

    Returns:
        list[dict]: ``data_list`` without the skipped samples.
    """
    if mode not in CHECK_IMAGES_MODES:
        raise ValueError(f'check_images must be one of {CHECK_IMAGES_MODES}, '
                         f'got {mode!r}')
    if on_corrupt not in ON_CORRUPT_MODES:
        raise ValueError(f'on_corrupt must be one of {ON_CORRUPT_MODES}, got '
                         f'{on_corrupt!r}')
    if not mode:
        return data_list
    missing = [d['img_path'] for d in data_list
               if not osp.isfile(d['img_path'])]
    if missing:
        shown = '\n  '.join(missing[:5])
        raise FileNotFoundError(
            f'{len(missing)} of {len(data_list)} images listed in {source} '
            f'are missing (check data_root / data_prefix), e.g.:\n  {shown}')
    if mode != 'decode':
        return data_list
    kept, skipped = [], []
    for d in data_list:
        try:
            check_image_decodes(d['img_path'])
        except CorruptImageError as e:
            if on_corrupt == 'error':
                raise CorruptImageError(f'{e} (listed in {source})') from e
            skipped.append(d['img_path'])
            continue
        kept.append(d)
    if skipped:
        warnings.warn(f'{source}: skipped {len(skipped)} corrupt image(s) '
                      f'of {len(data_list)}, e.g. {skipped[0]}', stacklevel=3)
    return kept
