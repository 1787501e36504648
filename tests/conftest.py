import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
COCO128 = osp.join(ROOT, 'data', 'coco128')


@pytest.fixture
def coco128_root():
    """Root of the coco128 fixture (``data/coco128``, a link to it); skips if
    absent."""
    if not osp.isdir(COCO128):
        pytest.skip(f'coco128 fixture not found at {COCO128} '
                    '(ln -s /path/to/coco128 data/coco128)')
    return COCO128
