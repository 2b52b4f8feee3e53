"""PST900 (Shivakumar et al., ICRA 2020; RGB-T, 5 classes) -> crossmodal layout.

Input as distributed (github ShreyasSkandanS/pst900_thermal_rgb):
``PST900_RGBT_Dataset/{train,test}/{rgb,thermal,labels,...}/<name>.png`` -- rgb 1280x720 uint8,
thermal uint8 1-channel (FLIR AGC projected into the RGB camera, 0 = holes), labels uint8 0..4. 597
train / 288 test; there is no validation split (Sigma/CMX validate on test). ``depth`` and
``thermal_raw`` are not converted.

Classes (0 is a real class, ``label_offset`` 0): background, fire_extinguisher, backpack,
hand_drill, survivor; palette = the toolkit colour map (listed there in cv2 BGR order) in RGB order.

Usage::

    python data_prep/pst900.py --root PST900_RGBT_Dataset --out data/PST900
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data_prep.common import add_common_args, run_converter  # noqa: E402

from data_prep.rgbt_folders import convert_split_folders  # noqa: E402

# default --out; equals data_root in configs/_base_/datasets/ (tests/data_prep/test_data_roots.py)
DEFAULT_OUT = 'data/PST900'

CLASSES = ('background', 'fire_extinguisher', 'backpack', 'hand_drill', 'survivor')
PALETTE = ((0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255))
DIRS = {'rgb': 'rgb', 'thermal': 'thermal', 'label': 'labels'}


def convert(
    root: str,
    out: str,
    *,
    force: bool = False,
    quiet: bool = False,
    unlabelled_dir: Optional[str] = None,
) -> str:
    """Convert PST900 from ``root`` (the PST900_RGBT_Dataset folder) into ``out``."""
    return convert_split_folders(
        root,
        out,
        converter='pst900',
        name='PST900',
        splits=('train', 'test'),
        dirs=DIRS,
        classes=CLASSES,
        palette=PALETTE,
        label_offset=0,
        max_label=4,
        allow_255=False,
        split_source='official train/ and test/ folders (597/288); no validation split',
        extra={'label_encoding': 'stored 0..4, 0 = background (a class)'},
        force=force,
        quiet=quiet,
        unlabelled_dir=unlabelled_dir,
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--root', required=True, help='PST900_RGBT_Dataset folder (with train/ and test/)'
    )
    p.add_argument(
        '--unlabelled-dir',
        default=None,
        help='also convert a folder of paired frames without labels, laid out like a split '
        f"folder ({DIRS['rgb']}/, {DIRS['thermal']}/), into the split \"unlabelled\" "
        '(no Label files; for inference and label-free distillation)',
    )
    add_common_args(p, default_out=DEFAULT_OUT)
    a = p.parse_args(argv)
    return run_converter(
        convert, a.root, out=a.out, force=a.force, quiet=a.quiet, unlabelled_dir=a.unlabelled_dir
    )


if __name__ == '__main__':
    sys.exit(main())
