"""FMB (Liu et al., "Multi-interactive Feature Learning and a Full-time Multi-modality Benchmark for
Image Fusion and Segmentation", ICCV 2023; RGB-T, 14 classes + void) -> crossmodal layout.

Input as distributed (JinyuanLiu-CV/SegMiF):
``FMB/{train,test}/{Visible,Infrared,Label}/<name>.png`` -- 800x600, Label uint8 0..14 with 0 =
unlabeled (``color/`` colour-coded labels are ignored). 1220 train / 280 test, no validation split.

Classes (stored 1..14, ``label_offset`` -1; stored 0 and 255 are void): Road, Sidewalk, Building,
Traffic Lamp, Traffic Sign, Vegetation, Sky, Person, Car, Truck, Bus, Motorcycle, Bicycle, Pole
(SegMiF issue #17; the paper reports 14 classes). Palette: the colour table of the released code
(cv2 BGR order) converted to RGB. Known data issue: no Bicycle pixels in the test labels (SegMiF
issue #28).

Usage::

    python data_prep/fmb.py --root FMB --out data/FMB
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
DEFAULT_OUT = 'data/FMB'

CLASSES = (
    'road',
    'sidewalk',
    'building',
    'traffic_lamp',
    'traffic_sign',
    'vegetation',
    'sky',
    'person',
    'car',
    'truck',
    'bus',
    'motorcycle',
    'bicycle',
    'pole',
)
_PALETTE_BGR = (
    (228, 228, 179),
    (133, 57, 181),
    (177, 162, 67),
    (50, 178, 200),
    (199, 45, 132),
    (84, 172, 66),
    (79, 73, 179),
    (166, 99, 76),
    (253, 121, 66),
    (91, 165, 137),
    (152, 97, 155),
    (140, 153, 105),
    (158, 215, 222),
    (90, 113, 135),
)
PALETTE = tuple(tuple(reversed(c)) for c in _PALETTE_BGR)
DIRS = {'rgb': 'Visible', 'thermal': 'Infrared', 'label': 'Label'}


def convert(
    root: str,
    out: str,
    *,
    force: bool = False,
    quiet: bool = False,
    unlabelled_dir: Optional[str] = None,
) -> str:
    """Convert FMB from ``root`` (the folder with train/ and test/) into ``out``."""
    return convert_split_folders(
        root,
        out,
        converter='fmb',
        name='FMB',
        splits=('train', 'test'),
        dirs=DIRS,
        classes=CLASSES,
        palette=PALETTE,
        label_offset=-1,
        max_label=14,
        allow_255=True,
        split_source='official train/ and test/ folders (1220/280); no validation split',
        extra={'label_encoding': 'stored 0 = unlabeled (void), 1..14 = classes, 255 = void'},
        force=force,
        quiet=quiet,
        unlabelled_dir=unlabelled_dir,
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=' '.join(__doc__.split('\n\n')[0].split('\n')))
    p.add_argument('--root', required=True, help='FMB folder (with train/ and test/)')
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
