"""The embedded dataset: deterministic synthetic RGB-D and RGB-T street scenes.

Each frame is a small street scene (default 128x160) with a ground plane, a far wall and 1-6
objects of three classes told apart by their *shape* (person: tall and thin, vehicle: wide and
low, obstacle: square block). Every modality is rendered from the same scene geometry:

- ``RGB``: textured colours, uint8 RGB.
- ``Depth``: uint16 millimetres (ground plane recedes to the wall; objects stand in front).
- ``Thermal``: uint8 "temperature" image (people hot, vehicles warm, obstacles slightly cool).
- ``Label``: uint8 train ids (0 background, 1 person, 2 vehicle, 3 obstacle; no void).

As in the real problem, the extra modality carries information RGB lacks:

- ``rgbt`` variant: about half the frames are **night** frames: the RGB image is nearly black and
  noisy, so people and vehicles are almost invisible in RGB but bright in thermal.
- ``rgbd`` variant: most objects are **camouflaged**: painted with the background's own colour and
  texture, so only depth separates them from the background.

Both variants are written in the crossmodal layout (docs/design.md §3):
``<out>/{RGB,Depth|Thermal,Label}``, ``train.txt``/``test.txt`` with bare stems, and ``meta.json``.

Usage::

    python data_prep/synthetic.py --out data/synthetic_rgbt --variant rgbt --num 320 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Dict, List

import cv2
import numpy as np

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from crossmodal.datasets.contract import DatasetFiles  # noqa: E402

CLASSES = ('background', 'person', 'vehicle', 'obstacle')
PALETTE = ((70, 70, 70), (220, 20, 60), (0, 0, 142), (250, 170, 30))
VARIANTS = {
    # variant: (extra modality, p(night), p(camouflaged object))
    'rgbt': ('thermal', 0.5, 0.0),
    'rgbd': ('depth', 0.0, 0.7),
}
WALL_DEPTH_M = 12.0
# bump when the rendering changes, so an older embedded dataset on disk is not silently reused
GENERATOR_VERSION = 2
CAMERA_HEIGHT_M = 1.4


@dataclass
class Frame:
    """One rendered frame. rgb uint8 HxWx3 (RGB), depth float32 HxW metres, thermal uint8 HxW,
    label uint8 HxW train ids, night/camouflage flags for inspection."""

    rgb: np.ndarray
    depth: np.ndarray
    thermal: np.ndarray
    label: np.ndarray
    night: bool
    n_camouflaged: int


def _smooth_noise(rng: np.random.Generator, h: int, w: int, scale: int = 8) -> np.ndarray:
    """Low-frequency noise in [-1, 1], HxW float32."""
    small = rng.uniform(-1, 1, (max(2, h // scale), max(2, w // scale))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _object_mask(kind: int, h: int, w: int, cx: float, by: float, size: float) -> np.ndarray:
    """Boolean HxW silhouette of an object standing on the ground at (cx, by) (bottom centre)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 1:  # person: head circle + body rounded rectangle, tall and thin
        bw, bh = 0.42 * size, 1.0 * size
        body = (np.abs(xx - cx) <= bw / 2) & (yy <= by) & (yy >= by - bh * 0.8)
        hr = 0.18 * size
        head = (xx - cx) ** 2 + (yy - (by - bh * 0.8 - hr * 0.8)) ** 2 <= hr**2
        return body | head
    if kind == 2:  # vehicle: wide low box with a cabin on top
        bw, bh = 1.6 * size, 0.45 * size
        body = (np.abs(xx - cx) <= bw / 2) & (yy <= by) & (yy >= by - bh)
        cab = (np.abs(xx - cx) <= bw * 0.3) & (yy < by - bh) & (yy >= by - bh * 1.6)
        return body | cab
    # obstacle: square block
    s = 0.6 * size
    return (np.abs(xx - cx) <= s / 2) & (yy <= by) & (yy >= by - s)


def render_frame(
    rng: np.random.Generator,
    height: int = 128,
    width: int = 160,
    p_night: float = 0.5,
    p_camouflage: float = 0.0,
) -> Frame:
    """Render one scene with every modality from the same geometry."""
    h, w = height, width
    horizon = int(h * rng.uniform(0.35, 0.5))
    rows = np.arange(h, dtype=np.float32)[:, None]
    # --- geometry: depth of ground (pinhole, focal ~ h) and the wall above the horizon
    focal = float(h)
    with np.errstate(divide='ignore'):
        ground_depth = CAMERA_HEIGHT_M * focal / np.maximum(rows - horizon, 0.5)
    depth = np.where(rows > horizon, np.minimum(ground_depth, WALL_DEPTH_M), WALL_DEPTH_M)
    depth = np.broadcast_to(depth, (h, w)).astype(np.float32).copy()

    # --- background appearance
    wall_col = rng.uniform(60, 200, 3)
    ground_col = rng.uniform(50, 180, 3)
    tex = _smooth_noise(rng, h, w, 6)[..., None] * rng.uniform(10, 35)
    bg = np.where((rows > horizon)[..., None], ground_col, wall_col).astype(np.float32)
    bg = np.broadcast_to(bg, (h, w, 3)).copy() + tex + rng.normal(0, 4, (h, w, 3))
    rgb = bg.copy()
    ambient = rng.uniform(70, 110)
    thermal = ambient + 12 * _smooth_noise(rng, h, w, 10) + 0.6 * (rows > horizon) * 8
    thermal = np.broadcast_to(thermal, (h, w)).astype(np.float32).copy()
    label = np.zeros((h, w), np.uint8)

    # --- objects, far to near (painter's algorithm)
    n_obj = int(rng.integers(2, 6))
    objs = []
    for _ in range(n_obj):
        kind = int(rng.integers(1, 4))
        by = float(rng.uniform(horizon + 6, h - 1))
        objs.append((by, kind))
    objs.sort()
    n_camo = 0
    for by, kind in objs:
        obj_depth = CAMERA_HEIGHT_M * focal / max(by - horizon, 0.5)
        size = float(np.clip(170.0 / obj_depth * rng.uniform(0.8, 1.2), 16, h * 0.7))
        cx = float(rng.uniform(0.1 * w, 0.9 * w))
        mask = _object_mask(kind, h, w, cx, by, size)
        if not mask.any():
            continue
        camouflaged = rng.random() < p_camouflage
        if camouflaged:
            n_camo += 1
            # same colour and texture as the background it stands in front of
            shift = int(rng.integers(-3, 4))
            rgb[mask] = np.roll(bg, shift, axis=1)[mask]
        else:
            col = rng.uniform(30, 230, 3)
            shade = 1.0 + 0.15 * _smooth_noise(rng, h, w, 4)[..., None]
            rgb[mask] = (col * shade)[mask] + rng.normal(0, 5, (int(mask.sum()), 3))
        # slight depth slant so objects are not perfectly flat
        depth[mask] = obj_depth * (1.0 + 0.01 * _smooth_noise(rng, h, w, 4)[mask])
        heat = {1: rng.uniform(75, 110), 2: rng.uniform(40, 70), 3: rng.uniform(-18, -8)}[kind]
        thermal[mask] = ambient + heat + 4 * rng.normal(0, 1, int(mask.sum()))
        label[mask] = kind

    night = rng.random() < p_night
    if night:
        # almost no light: very dark, low contrast, sensor noise dominates
        rgb = rgb * rng.uniform(0.04, 0.08) + rng.normal(0, 3.0, rgb.shape) + 4
    depth_noise = 1.0 + 0.005 * rng.normal(0, 1, depth.shape)
    return Frame(
        rgb=np.clip(rgb, 0, 255).astype(np.uint8),
        depth=(depth * depth_noise).astype(np.float32),
        thermal=np.clip(thermal, 0, 255).astype(np.uint8),
        label=label,
        night=bool(night),
        n_camouflaged=n_camo,
    )


def meta_for(variant: str, num: int, seed: int, height: int, width: int, num_train: int) -> Dict:
    extra = VARIANTS[variant][0]
    modalities = {'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3}}
    if extra == 'depth':
        modalities['depth'] = {
            'folder': 'Depth',
            'ext': '.png',
            'dtype': 'uint16',
            'channels': 1,
            'unit': 'mm',
            'scale': 0.001,
        }
    else:
        modalities['thermal'] = {
            'folder': 'Thermal',
            'ext': '.png',
            'dtype': 'uint8',
            'channels': 1,
            'unit': 'raw',
        }
    return {
        'name': f'synthetic_{variant}',
        'classes': list(CLASSES),
        'palette': [list(c) for c in PALETTE],
        'ignore_index': 255,
        'label_offset': 0,
        'label': {'folder': 'Label', 'ext': '.png'},
        'modalities': modalities,
        'splits': {'train': 'train.txt', 'test': 'test.txt'},
        'split_source': f'first {num_train} stems train, rest test (generator seed {seed})',
        'generator': {
            'script': 'data_prep/synthetic.py',
            'version': GENERATOR_VERSION,
            'variant': variant,
            'num': num,
            'seed': seed,
            'height': height,
            'width': width,
            'p_night': VARIANTS[variant][1],
            'p_camouflage': VARIANTS[variant][2],
        },
    }


def generate(
    out: str,
    variant: str = 'rgbt',
    num: int = 320,
    seed: int = 0,
    height: int = 128,
    width: int = 160,
    test_fraction: float = 0.2,
    force: bool = False,
    progress: bool = True,
    replace_own: bool = False,
) -> Dict:
    """Write the embedded dataset to ``out`` and return its meta dict.

    Re-running with the same arguments on an existing, complete output is a no-op; different
    arguments on an existing output need ``force=True`` (nothing is overwritten silently), or
    ``replace_own=True``, which replaces only an output this generator wrote itself.
    """
    if variant not in VARIANTS:
        raise ValueError(f'unknown variant {variant!r}; choose one of {sorted(VARIANTS)}')
    num_train = num - max(1, int(round(num * test_fraction)))
    meta = meta_for(variant, num, seed, height, width, num_train)
    meta_path = os.path.join(out, 'meta.json')
    if os.path.exists(out) and os.listdir(out):
        if os.path.isfile(meta_path):
            with open(meta_path) as f:
                old = json.load(f)
            if old.get('generator') == meta['generator'] and not force:
                return old
            if (
                replace_own
                and old.get('generator', {}).get('script') == meta['generator']['script']
            ):
                force = True  # an older or differently parameterised embedded dataset
        if not force:
            raise FileExistsError(
                f'{out} exists and holds a different dataset (or no meta.json); '
                f'pass --force to replace it'
            )
        shutil.rmtree(out)
    extra = VARIANTS[variant][0]
    files = DatasetFiles(out, {**meta['modalities'], 'label': meta['label']})
    files.make_folders()
    rng = np.random.default_rng(seed)
    stems: List[str] = []
    it = range(num)
    if progress:
        try:
            from tqdm import tqdm

            it = tqdm(it, desc=f'synthetic {variant}', unit='frame', file=sys.stderr)
        except ImportError:
            pass
    p_night, p_camo = VARIANTS[variant][1], VARIANTS[variant][2]
    n_night = n_camo = 0
    for i in it:
        fr = render_frame(rng, height, width, p_night, p_camo)
        n_night += fr.night
        n_camo += fr.n_camouflaged
        stem = f'{i:05d}'
        stems.append(stem)
        files.write('rgb', stem, fr.rgb)
        files.write('label', stem, fr.label)
        if extra == 'depth':
            files.write(
                'depth', stem, np.clip(np.round(fr.depth * 1000.0), 0, 65535).astype(np.uint16)
            )
        else:
            files.write('thermal', stem, fr.thermal)
    files.write_splits({'train': stems[:num_train], 'test': stems[num_train:]}, pairs=False)
    meta['statistics'] = {'night_frames': int(n_night), 'camouflaged_objects': int(n_camo)}
    files.write_meta(meta, style='plain')  # last: its presence marks a complete output
    return meta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', required=True, help='output dataset root')
    p.add_argument('--variant', default='rgbt', choices=sorted(VARIANTS))
    p.add_argument('--num', type=int, default=320, help='number of frames')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--height', type=int, default=128)
    p.add_argument('--width', type=int, default=160)
    p.add_argument('--test-fraction', type=float, default=0.2)
    p.add_argument('--force', action='store_true', help='replace an existing different output')
    a = p.parse_args(argv)
    meta = generate(a.out, a.variant, a.num, a.seed, a.height, a.width, a.test_fraction, a.force)
    print(json.dumps({'out': a.out, 'name': meta['name'], **meta.get('statistics', {})}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
