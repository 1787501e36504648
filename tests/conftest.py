import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = osp.join(ROOT, '..', 'shared', 'data')
COCO128 = osp.join(SHARED_DATA, 'coco128')


@pytest.fixture
def coco128_root():
    """Root of the coco128 fixture (../shared/data/coco128); skips if absent."""
    if not osp.isdir(COCO128):
        pytest.skip(f'coco128 fixture not found at {osp.abspath(COCO128)} '
                    '(needs ../shared/data beside the checkout)')
    return COCO128
