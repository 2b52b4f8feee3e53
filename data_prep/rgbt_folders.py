"""Shared converter for RGB-T datasets distributed as
``<root>/<split>/{<rgb>,<thermal>,<label>}/<name>.png`` (PST900, FMB). Used by data_prep/pst900.py
and data_prep/fmb.py.

Output: ``RGB/<name>.png`` (uint8 RGB), ``Thermal/<name>.png`` (uint8, 1 channel),
``Label/<name>.png`` (uint8 as stored; a palette PNG's indices), ``<split>.txt`` +
``<split>_pairs.txt`` per split, meta.json.

No-label mode (``unlabelled_dir``, CLI ``--unlabelled-dir``): a folder of paired frames
``<dir>/{<rgb>,<thermal>}/<name>.png`` without labels (e.g. extra recordings for label-free
distillation or inference) becomes the split ``unlabelled`` -- RGB and Thermal files, no Label file,
``unlabelled.txt``, and meta.json ``"unlabelled_splits": ["unlabelled"]``; load it with
``RGBXSegDataset(split='unlabelled')`` (labels off). Its names must not collide with labelled ones.
"""

from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from data_prep.common import (
    DatasetWriter,
    PrepError,
    progress,
    read_image,
    read_label_image,
    single_channel,
    to_rgb,
)

UNLABELLED_SPLIT = 'unlabelled'


def list_names(folder: str, ext: str = '.png') -> List[str]:
    """Sorted stems of the ``ext`` files in ``folder`` (raises PrepError if the folder is
    missing)."""
    if not os.path.isdir(folder):
        raise PrepError(f'{folder}: folder not found')
    return sorted(os.path.splitext(n)[0] for n in os.listdir(folder) if n.lower().endswith(ext))


def read_label(path: str, allowed_max: int, allow_255: bool) -> np.ndarray:
    """Read a stored label PNG as HxW uint8 and check its values (0..allowed_max, plus 255 if
    allowed).

    A palette ("P") PNG gives its indices (VOC style), not its colours."""
    lab = single_channel(read_label_image(path), path)
    if lab.dtype != np.uint8:
        if lab.max(initial=0) > 255:
            raise PrepError(f'{path}: label is {lab.dtype} with values above 255')
        lab = lab.astype(np.uint8)
    bad = (lab > allowed_max) & ~((lab == 255) & allow_255)
    if bad.any():
        vals = sorted(set(np.unique(lab[bad]).tolist()))
        raise PrepError(
            f'{path}: label values {vals[:10]} outside 0..{allowed_max}'
            + (' and 255' if allow_255 else '')
        )
    return lab


def read_thermal(path: str) -> np.ndarray:
    """Read an 8-bit thermal image (1 channel, or 3 identical channels) as HxW uint8."""
    t = single_channel(read_image(path), path)
    if t.dtype != np.uint8:
        raise PrepError(f'{path}: thermal is {t.dtype}, expected 8-bit')
    return t


def convert_split_folders(
    root: str,
    out: str,
    *,
    converter: str,
    name: str,
    splits: Sequence[str],
    dirs: Mapping[str, str],
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    label_offset: int,
    max_label: int,
    allow_255: bool,
    split_source: str,
    extra: Optional[Mapping] = None,
    force: bool = False,
    quiet: bool = False,
    unlabelled_dir: Optional[str] = None,
) -> str:
    """Convert ``<root>/<split>/{dirs['rgb'], dirs['thermal'], dirs['label']}/<name>.png``.

    Stems are the file names, which must be unique across splits; every RGB file needs a thermal and
    a label file of the same size. ``unlabelled_dir``: also convert ``<unlabelled_dir>/{dirs['rgb'],
    dirs['thermal']}/<name>.png`` (no labels) into the split ``unlabelled`` (module docstring).
    """
    if not os.path.isdir(root):
        raise PrepError(f'{root}: dataset root not found')
    per_split: Dict[str, List[str]] = {}
    seen: Dict[str, str] = {}
    for split in splits:
        names = list_names(os.path.join(root, split, dirs['rgb']))
        if not names:
            raise PrepError(f'{os.path.join(root, split, dirs["rgb"])}: no .png images')
        for n in names:
            if n in seen:
                raise PrepError(f'{root}: file name {n!r} appears in both {seen[n]} and {split}')
            seen[n] = split
        per_split[split] = names
    unlabelled: List[str] = []
    if unlabelled_dir is not None:
        unlabelled = list_names(os.path.join(unlabelled_dir, dirs['rgb']))
        if not unlabelled:
            raise PrepError(
                f'{os.path.join(unlabelled_dir, dirs["rgb"])}: no .png images (unlabelled frames)'
            )
        for n in unlabelled:
            if n in seen:
                raise PrepError(
                    f'{unlabelled_dir}: unlabelled frame {n!r} has the name of a frame of {seen[n]}'
                )
            seen[n] = UNLABELLED_SPLIT
    mods = {
        'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3},
        'thermal': {'folder': 'Thermal', 'ext': '.png', 'dtype': 'uint8', 'channels': 1},
    }
    options = (
        {'unlabelled_dir': os.path.abspath(unlabelled_dir)} if unlabelled_dir is not None else {}
    )
    writer = DatasetWriter(out, converter=converter, options=options, modalities=mods, force=force)
    items = [(s, n) for s in splits for n in per_split[s]] + [
        (UNLABELLED_SPLIT, n) for n in unlabelled
    ]
    for split, n in progress(items, name, quiet=quiet):
        labelled = split != UNLABELLED_SPLIT
        if writer.is_done(n, labelled=labelled):
            continue
        if labelled:
            paths = {k: os.path.join(root, split, d, n + '.png') for k, d in dirs.items()}
        else:
            paths = {
                k: os.path.join(unlabelled_dir, dirs[k], n + '.png') for k in ('rgb', 'thermal')
            }
        rgb = read_image(paths['rgb'])
        if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.dtype != np.uint8:
            raise PrepError(
                f"{paths['rgb']}: expected an 8-bit colour image, got {rgb.dtype} {rgb.shape}"
            )
        rgb = to_rgb(rgb[:, :, :3])
        thermal = read_thermal(paths['thermal'])
        label = read_label(paths['label'], max_label, allow_255) if labelled else None
        for k, arr in (('thermal', thermal), ('label', label)):
            if arr is None:
                continue
            if arr.shape[:2] != rgb.shape[:2]:
                raise PrepError(
                    f'{paths[k]}: size {arr.shape[:2]} differs from the RGB image '
                    f"{paths['rgb']} {rgb.shape[:2]}"
                )
        writer.write(n, label=label, rgb=rgb, thermal=thermal, source=paths['rgb'])
    if unlabelled:
        per_split[UNLABELLED_SPLIT] = unlabelled
        split_source += (
            f'; split "{UNLABELLED_SPLIT}": {len(unlabelled)} frames without labels from '
            f'{unlabelled_dir}'
        )
    writer.finalize(
        name=name,
        classes=classes,
        palette=palette,
        label_offset=label_offset,
        splits=per_split,
        split_source=split_source,
        unlabelled_splits=(UNLABELLED_SPLIT,) if unlabelled else (),
        extra=dict(
            extra or {},
            source_layout=f"<root>/<split>/{{{dirs['rgb']},{dirs['thermal']},"
            f"{dirs['label']}}}/<name>.png",
        ),
    )
    return out
