"""A folder of paired RGB-thermal frames without labels -> an unlabelled crossmodal dataset.

For recordings that have no segmentation labels (MSRS's registered RGB-T pairs, a robot's own
recordings): label-free distillation (a multimodal teacher teaches an RGB student on its own
predictions) and inference. No labelled dataset is needed (to add such a folder *beside* a labelled
dataset, use ``--unlabelled-dir`` of ``data_prep/pst900.py`` / ``data_prep/fmb.py``).

Input::

    <src>/<rgb-dir>/<stem>.<ext>       8-bit colour (RGBA: the alpha channel is dropped)
    <src>/<thermal-dir>/<stem>.<ext>   8-bit thermal, 1 channel (or 3 identical channels)

``ext`` is any of .png .jpg .jpeg .bmp .tif .tiff; frames pair by stem: every RGB stem needs a
thermal file of the same stem and size, and every thermal file an RGB partner.

Output (the layout of docs/design.md §3, without a Label folder)::

    <out>/RGB/<stem>.png       uint8 RGB (lossless; a JPEG input is re-encoded to PNG)
    <out>/Thermal/<stem>.png   uint8, 1 channel
    <out>/unlabelled.txt       stems (+ unlabelled_pairs.txt, RGB paths only)
    <out>/meta.json            "splits": {"unlabelled": "unlabelled.txt"},
                               "unlabelled_splits": ["unlabelled"]

meta.json still needs the class list and palette of the model that will predict on the frames (the
teacher): ``--classes-like mfnet`` takes them from that converter's constants (MSRS derives from
MFNet: the same 9 classes), ``--classes-from <meta.json or dataset root>`` from a converted dataset
(its ``label_offset`` too). It also declares ``label`` ({"folder": "Label", ...}; the contract
requires it), although no frame has a label file. Load the frames with
``RGBXSegDataset(split='unlabelled', ...)``: labels off.

``--exclude-stems <split file> ...`` leaves out the frames a split file lists (bare stems or
``RGB/<stem>.png`` lines), e.g. an evaluation split: MSRS keeps MFNet's frame names, so
``--exclude-stems data/MFNet/test.txt`` keeps MFNet's test frames out of a distillation pool whose
student is then scored on MFNet test.

Usage::

    python data_prep/paired_frames.py --src MSRS --out data/msrs --classes-like mfnet
    python data_prep/paired_frames.py --src VIF-Benchmark/datasets/test_imgs --rgb-dir vi \\
        --thermal-dir ir --out data/msrs-test --classes-from data/MFNet/meta.json \\
        --exclude-stems data/MFNet/test.txt
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data_prep.common import (  # noqa: E402
    DatasetWriter,
    PrepError,
    add_common_args,
    progress,
    read_image,
    read_split_lines,
    run_converter,
    to_rgb,
)
from data_prep.rgbt_folders import read_thermal  # noqa: E402

#: the split the frames go to (meta.json ``unlabelled_splits``)
UNLABELLED_SPLIT = 'unlabelled'
#: input image extensions (lower case)
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
#: ``--classes-like`` name -> converter module whose CLASSES / PALETTE the teacher predicts
#: (the RGB-T benchmarks)
CLASSES_LIKE = {'mfnet': 'data_prep.mfnet', 'pst900': 'data_prep.pst900', 'fmb': 'data_prep.fmb'}
MODALITIES = {
    'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3},
    'thermal': {'folder': 'Thermal', 'ext': '.png', 'dtype': 'uint8', 'channels': 1},
}


def list_frames(folder: str, role: str) -> Dict[str, str]:
    """``{stem: file path}`` of the images in ``folder`` (``role``: 'RGB' / 'thermal', for the
    messages). Raises PrepError for a missing folder, no images, a stem that appears with two
    extensions or a stem a split file cannot hold (whitespace)."""
    if not os.path.isdir(folder):
        raise PrepError(f'{folder}: {role} folder not found')
    frames: Dict[str, str] = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() not in IMAGE_EXTS or not os.path.isfile(os.path.join(folder, name)):
            continue
        if stem in frames:
            raise PrepError(
                f'{folder}: {role} frame {stem!r} appears twice '
                f'({os.path.basename(frames[stem])} and {name})'
            )
        if not stem or any(c.isspace() for c in stem):
            raise PrepError(
                f'{os.path.join(folder, name)}: file name has whitespace; split files list one '
                f'stem a line, rename it'
            )
        frames[stem] = os.path.join(folder, name)
    if not frames:
        raise PrepError(f'{folder}: no {role} images ({", ".join(IMAGE_EXTS)})')
    return frames


def pair_frames(src: str, rgb_dir: str, thermal_dir: str) -> List[Tuple[str, str, str]]:
    """``[(stem, rgb path, thermal path)]`` sorted by stem; raises PrepError naming the stems that
    have no partner in the other folder."""
    if not os.path.isdir(src):
        raise PrepError(f'{src}: source folder not found')
    rgb_root, t_root = os.path.join(src, rgb_dir), os.path.join(src, thermal_dir)
    rgb = list_frames(rgb_root, 'RGB')
    thermal = list_frames(t_root, 'thermal')
    for a, a_root, b, b_root, what in (
        (rgb, rgb_root, thermal, t_root, 'thermal'),
        (thermal, t_root, rgb, rgb_root, 'RGB'),
    ):
        lone = sorted(set(a) - set(b))
        if lone:
            shown = ', '.join(os.path.basename(a[s]) for s in lone[:5])
            more = f' and {len(lone) - 5} more' if len(lone) > 5 else ''
            raise PrepError(
                f'{a_root}: {len(lone)} frame(s) without a {what} partner in {b_root}: '
                f'{shown}{more}'
            )
    return [(s, rgb[s], thermal[s]) for s in sorted(rgb)]


def excluded_stems(files: Sequence[str]) -> set:
    """Stems listed in the split files ``files`` (one a line: a bare stem, or a path such as
    ``RGB/<stem>.png`` as the first field of a pairs file)."""
    out = set()
    for path in files:
        for line in read_split_lines(path):
            first = line.split()[0]
            out.add(os.path.splitext(os.path.basename(first))[0] if '/' in first else first)
    return out


def class_source(
    classes_like: Optional[str] = None, classes_from: Optional[str] = None
) -> Tuple[Tuple[str, ...], Tuple[Tuple[int, int, int], ...], int, str]:
    """``(classes, palette, label_offset, where)`` from exactly one of ``classes_like`` (a key of
    :data:`CLASSES_LIKE`) and ``classes_from`` (a meta.json file or a dataset root holding one)."""
    if (classes_like is None) == (classes_from is None):
        raise PrepError(
            'give exactly one of --classes-like (one of '
            f'{sorted(CLASSES_LIKE)}) and --classes-from <meta.json>: meta.json needs the class '
            'list and palette of the model that predicts on the frames'
        )
    if classes_like is not None:
        if classes_like not in CLASSES_LIKE:
            raise PrepError(
                f'--classes-like {classes_like!r}: unknown, use one of {sorted(CLASSES_LIKE)}'
            )
        mod = importlib.import_module(CLASSES_LIKE[classes_like])
        where = f'{CLASSES_LIKE[classes_like].replace(".", "/")}.py (CLASSES, PALETTE)'
        return tuple(mod.CLASSES), tuple(tuple(c) for c in mod.PALETTE), 0, where
    from crossmodal.datasets.contract import DatasetMetaError, load_meta

    path = classes_from
    if os.path.isdir(path):
        path = os.path.join(path, 'meta.json')
    try:
        meta = load_meta(os.path.dirname(os.path.abspath(path)), os.path.abspath(path))
    except DatasetMetaError as e:
        raise PrepError(f'--classes-from: {e}') from None
    if not meta['classes']:
        raise PrepError(f'{path}: --classes-from needs a dataset with classes (this one has none)')
    palette = tuple(tuple(int(v) for v in c) for c in meta['palette'])
    return tuple(meta['classes']), palette, int(meta['label_offset']), path


def read_rgb(path: str) -> np.ndarray:
    """An 8-bit colour image (3 channels, or 4 with the alpha dropped) as HxWx3 uint8 RGB."""
    img = read_image(path)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
        ch = 1 if img.ndim == 2 else img.shape[2]
        raise PrepError(
            f'{path}: expected an 8-bit colour image (3 or 4 channels), got {img.dtype} with '
            f'{ch} channel(s)'
        )
    return to_rgb(img[:, :, :3])


def convert(
    src: str,
    out: str,
    *,
    classes_like: Optional[str] = None,
    classes_from: Optional[str] = None,
    name: Optional[str] = None,
    rgb_dir: str = 'RGB',
    thermal_dir: str = 'Thermal',
    exclude: Sequence[str] = (),
    force: bool = False,
    quiet: bool = False,
) -> str:
    """Convert the paired frames of ``src`` into the unlabelled dataset ``out`` (module docstring).

    Args:
        src: folder holding ``rgb_dir/`` and ``thermal_dir/``.
        out: output dataset root.
        classes_like / classes_from: where the class list and palette come from (exactly one).
        name: meta.json ``name`` (default: the name of ``src``).
        exclude: split files whose stems are left out (:func:`excluded_stems`).
    Returns ``out``. Raises PrepError naming the file and the problem (a missing folder, a frame
    without partner, an unreadable file, a size mismatch, a non-8-bit or non-grey thermal image).
    """
    classes, palette, label_offset, where = class_source(classes_like, classes_from)
    frames = pair_frames(src, rgb_dir, thermal_dir)
    skip = excluded_stems(exclude)
    kept = [f for f in frames if f[0] not in skip]
    if not kept:
        raise PrepError(
            f'{src}: all {len(frames)} frames are listed in --exclude-stems {list(exclude)}'
        )
    n_excluded = len(frames) - len(kept)
    frames = kept
    name = name or os.path.basename(os.path.normpath(os.path.abspath(src)))
    options = {
        'src': os.path.abspath(src),
        'rgb_dir': rgb_dir,
        'thermal_dir': thermal_dir,
        'classes': where,
        'exclude': [os.path.abspath(p) for p in exclude],
    }
    writer = DatasetWriter(
        out,
        converter='paired_frames',
        options=options,
        modalities=MODALITIES,
        force=force,
        labels=False,
    )
    for stem, rgb_path, t_path in progress(frames, name, quiet=quiet):
        if writer.is_done(stem, labelled=False):
            continue
        rgb = read_rgb(rgb_path)
        thermal = read_thermal(t_path)
        if thermal.shape != rgb.shape[:2]:
            raise PrepError(
                f'{t_path}: size {thermal.shape[0]}x{thermal.shape[1]} (HxW) differs from its RGB '
                f'frame {rgb_path} {rgb.shape[0]}x{rgb.shape[1]}; the pairs must be registered '
                f'frames of the same size'
            )
        writer.write(stem, label=None, rgb=rgb, thermal=thermal, source=rgb_path)
    stems: Sequence[str] = [f[0] for f in frames]
    writer.finalize(
        name=name,
        classes=classes,
        palette=palette,
        label_offset=label_offset,
        splits={UNLABELLED_SPLIT: stems},
        unlabelled_splits=(UNLABELLED_SPLIT,),
        split_source=f'every paired frame of {os.path.abspath(src)} ({len(stems)}), no labels'
        + (
            f'; {n_excluded} frame(s) listed in {", ".join(exclude)} left out' if n_excluded else ''
        ),
        extra={
            'classes_source': where,
            'source_layout': f'<src>/{{{rgb_dir},{thermal_dir}}}/<stem>.<ext>',
            **({'excluded_frames': n_excluded} if exclude else {}),
        },
    )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--src', required=True, help='folder of paired frames (<rgb-dir>/, <thermal-dir>/)'
    )
    p.add_argument(
        '--rgb-dir', default='RGB', help='colour frames under --src (default %(default)s)'
    )
    p.add_argument(
        '--thermal-dir', default='Thermal', help='thermal frames under --src (default %(default)s)'
    )
    classes = p.add_mutually_exclusive_group(required=True)
    classes.add_argument(
        '--classes-like',
        choices=sorted(CLASSES_LIKE),
        help="the classes and palette of that converter's dataset (MSRS: mfnet)",
    )
    classes.add_argument(
        '--classes-from',
        metavar='META_JSON',
        help='the classes, palette and label offset of a converted dataset (its meta.json or root)',
    )
    p.add_argument('--name', default=None, help='meta.json name (default: the name of --src)')
    p.add_argument(
        '--exclude-stems',
        nargs='+',
        default=[],
        metavar='SPLIT_FILE',
        help='leave out the frames these split files list (e.g. the evaluation split of the '
        'labelled dataset the student is scored on: data/MFNet/test.txt)',
    )
    add_common_args(p)
    a = p.parse_args(argv)
    return run_converter(
        convert,
        a.src,
        out=a.out,
        classes_like=a.classes_like,
        classes_from=a.classes_from,
        name=a.name,
        rgb_dir=a.rgb_dir,
        thermal_dir=a.thermal_dir,
        exclude=a.exclude_stems,
        force=a.force,
        quiet=a.quiet,
    )


if __name__ == '__main__':
    sys.exit(main())
