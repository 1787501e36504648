import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: where the real-photo fixture is looked for: a link inside the checkout (the configs'
#: data_root), then the shared data folder beside the checkout (as on CI)
COCO128_PLACES = (osp.join(ROOT, 'data', 'coco128'),
                  osp.join(osp.dirname(ROOT), 'shared', 'data', 'coco128'))


@pytest.fixture(scope='session')
def coco128_root():
    """Root of the coco128 fixture (126 annotated COCO-2017 photos); skips with
    the places looked at when it is absent."""
    for place in COCO128_PLACES:
        if osp.isdir(osp.join(place, 'train2017')):
            return place
    pytest.skip('coco128 fixture not found at ' + ' or '.join(COCO128_PLACES)
                + ' (ln -s /path/to/coco128 data/coco128)')
