"""Vectorised readers of the official OpenImages V6 image-level label files.

The files as distributed (https://storage.googleapis.com/openimages/web/download_v6.html):

- class descriptions, ``MID,DisplayName`` per line: ``class-descriptions-boxable.csv``
  (601 classes, no header) and ``oidv6-class-descriptions.csv`` (all classes, header
  ``LabelName,DisplayName``);
- the trainable classes, one MID per line: ``oidv6-classes-trainable.txt``;
- human-verified image-level labels, header ``ImageID,Source,LabelName,Confidence``
  and one row per verified (image, class) pair, ``Confidence`` 1 (present) or 0
  (verified absent), rows grouped by image:
  ``{train,validation,test}-annotations-human-imagelabels-boxable.csv`` and
  ``oidv6-train-annotations-human-imagelabels.csv`` /
  ``{validation,test}-annotations-human-imagelabels.csv``.

The label files hold millions of rows (8.9M in the boxable train file), so
:func:`read_image_labels` parses them with NumPy on the raw bytes, in chunks, with
no Python work per row: it returns compact arrays (a run of rows per image, a class
index and a 0/1 value per row) instead of Python objects. Malformed rows, unknown
MIDs and wrong headers raise :class:`~.validation.DatasetFormatError` naming the file
and the line.
"""
import csv
from typing import Dict, Iterator, List, NamedTuple, Sequence, Tuple

import numpy as np

from .validation import check_file, format_error, read_lines

LABELS_HEADER = b'ImageID,Source,LabelName,Confidence'
MAX_FIELD_BYTES = 64  # longer ImageIDs / MIDs are malformed rows
CHUNK_BYTES = 16 << 20

_NEWLINE, _COMMA, _CR = 10, 44, 13
_ZERO, _ONE = 48, 49


class ClassDescriptions(NamedTuple):
    """Classes of a class-descriptions file, in file order."""
    mids: Tuple[str, ...]
    names: Tuple[str, ...]
    lines: Tuple[int, ...]


class LabelRows(NamedTuple):
    """Rows of one label file, compressed into runs of the same ``ImageID``.

    Attributes:
        run_keys (np.ndarray): ``S<w>`` ImageID of each run.
        run_lines (np.ndarray): int64 file line of each run's first row.
        row_run (np.ndarray): int64 run index of each row.
        row_class (np.ndarray): int32 class index of each row (-1: a known MID
            outside the selected classes).
        row_value (np.ndarray): int8 ``Confidence`` of each row (1 or 0).
    """
    run_keys: np.ndarray
    run_lines: np.ndarray
    row_run: np.ndarray
    row_class: np.ndarray
    row_value: np.ndarray


def is_mid(text: str) -> bool:
    """Whether ``text`` looks like a Freebase / Knowledge Graph MID."""
    return text.startswith(('/m/', '/g/'))


def read_class_descriptions(path: str) -> ClassDescriptions:
    """Read ``MID,DisplayName`` rows; a first row that is no MID is the header.

    ``class-descriptions-boxable.csv`` has no header, ``oidv6-class-descriptions.csv``
    has ``LabelName,DisplayName``; display names may be quoted and contain commas.
    """
    check_file(path, 'class descriptions file')
    mids, names, lines, seen = [], [], [], {}
    with open(path, encoding='utf-8-sig', newline='') as f:
        for line, row in enumerate(csv.reader(f), 1):
            if not row or not any(s.strip() for s in row):
                continue
            if line == 1 and not is_mid(row[0].strip()):
                continue  # header
            if len(row) != 2:
                raise format_error(path, f'expected 2 fields (MID,DisplayName), got '
                                   f'{len(row)}: {row!r}', line=line)
            mid, name = row[0].strip(), row[1].strip()
            if not is_mid(mid):
                raise format_error(path, f'{mid!r} is not a MID (/m/... or /g/...)',
                                   line=line)
            if mid in seen:
                raise format_error(path, f'MID {mid} appears twice (first at line '
                                   f'{seen[mid]})', line=line)
            seen[mid] = line
            mids.append(mid)
            names.append(name or mid)
            lines.append(line)
    if not mids:
        raise format_error(path, 'no classes')
    return ClassDescriptions(tuple(mids), tuple(names), tuple(lines))


def read_trainable_mids(path: str, known: Dict[str, int]) -> List[str]:
    """MIDs of a trainable-classes list; each must be in the class descriptions."""
    mids, seen = [], {}
    for line, mid in read_lines(path, 'trainable classes file'):
        if mid not in known:
            raise format_error(path, f'unknown MID {mid!r} (not in the class '
                               'descriptions)', line=line)
        if mid in seen:
            raise format_error(path, f'MID {mid} appears twice (first at line '
                               f'{seen[mid]})', line=line)
        seen[mid] = line
        mids.append(mid)
    return mids


def class_vocabulary(all_mids: Sequence[str], selected: Sequence[str]
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted MIDs (``S<w>``) and their class index (-1 if not selected)."""
    index = {m: i for i, m in enumerate(selected)}
    vocab = np.array(sorted(all_mids), dtype=bytes)
    classes = np.array([index.get(m.decode(), -1) for m in vocab], dtype=np.int32)
    return vocab, classes


def _chunks(path: str, chunk_bytes: int) -> Iterator[bytes]:
    """The file in blocks of whole lines (the last one ends with a newline)."""
    with open(path, 'rb') as f:
        carry = b''
        while True:
            block = f.read(chunk_bytes)
            if not block:
                if carry:
                    yield carry + b'\n'
                return
            block = carry + block
            cut = block.rfind(b'\n') + 1
            carry = block[cut:]
            if cut:
                yield block[:cut]


def _fixed_width(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Byte ranges ``buf[start:stop]`` as one ``S<w>`` array (no Python loop)."""
    width = int((stop - start).max(initial=1)) or 1
    cols = np.arange(width, dtype=np.int32)
    idx = start[:, None].astype(np.int32) + cols
    out = buf[np.minimum(idx, len(buf) - 1)]
    out[cols >= (stop - start)[:, None]] = 0
    return np.ascontiguousarray(out).view(f'S{width}').ravel()


def _line_text(buf: np.ndarray, start: int, stop: int) -> str:
    return bytes(buf[start:stop]).decode('utf-8', 'replace')


def _parse_chunk(path: str, buf: np.ndarray, first_line: int, vocab: np.ndarray,
                 vocab_class: np.ndarray):
    ends = np.flatnonzero(buf == _NEWLINE)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    stops = ends - ((buf[np.maximum(ends - 1, 0)] == _CR) & (ends > starts))
    line_no = first_line + np.arange(len(ends))
    blank = stops == starts
    if blank.any():  # skipped, as the csv module does
        starts, stops, line_no = starts[~blank], stops[~blank], line_no[~blank]
        if not len(starts):
            return len(ends), None
    commas = np.flatnonzero(buf == _COMMA)
    per_line = np.searchsorted(commas, stops) - np.searchsorted(commas, starts)

    def fail(rows: np.ndarray, message: str):
        i = int(np.flatnonzero(rows)[0])
        text = _line_text(buf, starts[i], stops[i])
        raise format_error(path, f'{message}: {text!r}', line=int(line_no[i]))

    if (per_line != 3).any():
        fail(per_line != 3, 'malformed row (expected 4 fields ImageID,Source,'
             'LabelName,Confidence)')
    c = commas.reshape(-1, 3)
    fields = [(starts, c[:, 0]), (c[:, 0] + 1, c[:, 1]), (c[:, 1] + 1, c[:, 2]),
              (c[:, 2] + 1, stops)]
    for (lo, hi), name in zip(fields, ('ImageID', 'Source', 'LabelName', 'Confidence')):
        if (hi <= lo).any():
            fail(hi <= lo, f'empty {name}')
        if (hi - lo > MAX_FIELD_BYTES).any():
            fail(hi - lo > MAX_FIELD_BYTES, f'{name} longer than {MAX_FIELD_BYTES} bytes')
    conf_lo, conf_hi = fields[3]
    value = buf[conf_lo].astype(np.int8) - _ZERO
    bad = (conf_hi - conf_lo != 1) | ((value != 0) & (value != 1))
    if bad.any():
        fail(bad, 'Confidence must be 1 (verified present) or 0 (verified absent)')

    mids = _fixed_width(buf, *fields[2])
    pos = np.minimum(np.searchsorted(vocab, mids), len(vocab) - 1)
    unknown = vocab[pos] != mids
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise format_error(path, f'unknown MID {mids[i].decode()!r} (not in the class '
                           'descriptions)', line=int(line_no[i]), field='LabelName')

    keys = _fixed_width(buf, *fields[0])
    new_run = np.empty(len(keys), dtype=bool)
    new_run[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new_run[1:])
    run_starts = np.flatnonzero(new_run)
    return len(ends), (keys[run_starts], line_no[run_starts], np.cumsum(new_run) - 1,
                       vocab_class[pos], value)


def read_image_labels(path: str, vocab: np.ndarray, vocab_class: np.ndarray,
                      chunk_bytes: int = CHUNK_BYTES) -> LabelRows:
    """Parse one human-verified image-level labels CSV into :class:`LabelRows`.

    Args:
        path (str): The CSV (header ``ImageID,Source,LabelName,Confidence``).
        vocab (np.ndarray): Sorted ``S<w>`` MIDs of the class descriptions.
        vocab_class (np.ndarray): Class index of each ``vocab`` MID, -1 for a
            known class that is not trained (its rows are kept with class -1).
        chunk_bytes (int): Bytes parsed at a time (bounds the temporaries).
    """
    check_file(path, 'image-level labels file')
    parts, line, runs = [], 1, 0
    for n, chunk in enumerate(_chunks(path, chunk_bytes)):
        buf = np.frombuffer(chunk, dtype=np.uint8)
        if n == 0:
            head = chunk.split(b'\n', 1)[0].rstrip(b'\r').lstrip(b'\xef\xbb\xbf')
            if head != LABELS_HEADER:
                raise format_error(path, f'expected the header {LABELS_HEADER.decode()!r}, '
                                   f'got {head.decode("utf-8", "replace")!r}', line=1)
            buf = buf[chunk.index(b'\n') + 1:]
            line = 2
        if not len(buf):
            continue
        num_lines, parsed = _parse_chunk(path, buf, line, vocab, vocab_class)
        line += num_lines
        if parsed is None:
            continue
        keys, run_lines, row_run, row_class, value = parsed
        parts.append((keys, run_lines, row_run + runs, row_class, value))
        runs += len(keys)
    if not parts:
        raise format_error(path, 'no label rows after the header')
    return LabelRows(*(np.concatenate(col) for col in zip(*parts)))
