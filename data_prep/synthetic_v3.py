"""Embedded benchmark v3: deterministic synthetic street scenes where RGB carries the information
in a hard form and thermal / depth make it easy (the gap structure of the real RGB-X benchmarks).

v2 (``data_prep/synthetic.py``, kept reproducible under its own version) blacked out half the RGB
frames, so an RGB-only model could reach only about 0.4x the RGB-T teacher, far from the ~0.9x of
the real benchmarks (MFNet 53.2 vs 58.2 mIoU). v3 keeps every frame *learnable* from RGB:

- **8 classes** (``CLASSES``): background (buildings, sky), road, sidewalk, person, car, bicycle,
  pole, cone; bicycles and poles are thin structures (1-4 px).
- **RGB**, uint8: every frame is captured at an exposure ``g`` (40 % daylight in [0.5, 1], 60 %
  dusk/night, log-uniform in [0.03, 0.5]) as an 8-bit signal with shot noise (variance = signal,
  in 8-bit counts) and read noise (std 1.5 counts), then brought back to normal brightness by a
  digital gain ``1/g`` (at most 25x): at night the image is posterised and noisy but not black.
  40 % of the frames have linear motion blur (3-9 px); walls carry clutter (windows, posters in
  object-like colours) and the ground puddles and manhole covers, all labelled as what they lie on.
- **Thermal**, uint8, exposure-independent: per-class temperatures (people hot, cars warm with hot
  wheels, road warmer than sidewalk, poles and cones cold, bicycles near ambient), rendered at half
  resolution and upsampled (the low resolution and blur of real thermal cameras), clutter invisible.
- **Depth**, uint16 mm: the scene geometry (ground plane, kerb 0.15 m above the road, buildings,
  objects standing on the ground) with 1 % multiplicative noise and 2 % missing pixels (0).

All modalities come from the same geometry, so one dataset serves the RGB-T and the RGB-D
benchmarks and one RGB-only twin is the baseline of both. Splits: ``train`` / ``val`` / ``test``
(hyper-parameters are chosen on ``val``; ``test`` is read once per final setting) and ``pretrain``
is *not* here: the synthetic "ImageNet" of the shipped pretrained MiT is a different generator
(``data_prep/synthetic_shapes.py``).

Usage::

    python data_prep/synthetic_v3.py --out data/synthetic_v3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Dict, List, Tuple

import cv2
import numpy as np

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from crossmodal.datasets.contract import DatasetFiles  # noqa: E402

GENERATOR_VERSION = 3
CLASSES = ('background', 'road', 'sidewalk', 'person', 'car', 'bicycle', 'pole', 'cone')
PALETTE = (
    (70, 70, 70),
    (128, 64, 128),
    (244, 35, 232),
    (220, 20, 60),
    (0, 0, 142),
    (119, 11, 32),
    (153, 153, 153),
    (250, 170, 30),
)
BG, ROAD, SIDEWALK, PERSON, CAR, BICYCLE, POLE, CONE = range(8)
CAMERA_HEIGHT_M = 1.4
FAR_M = 30.0
# default split sizes (frames): the test split is >= 500 frames so the twin's seed noise is small
SPLITS = (('train', 1000), ('val', 250), ('test', 500))


@dataclass
class Frame:
    """One rendered frame. rgb uint8 HxWx3; thermal uint8 HxW; depth float32 HxW metres (0 =
    missing); label uint8 HxW train ids; exposure (1 = daylight) and blur length (px) of the RGB
    capture."""

    rgb: np.ndarray
    thermal: np.ndarray
    depth: np.ndarray
    label: np.ndarray
    exposure: float
    blur_px: int


def _smooth(rng: np.random.Generator, h: int, w: int, scale: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1], HxW float32."""
    small = rng.uniform(-1, 1, (max(2, h // scale), max(2, w // scale))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


class _Canvas:
    """Paints one scene into every modality at once (painter's algorithm, far to near)."""

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.rgb = np.zeros((h, w, 3), np.float32)
        self.temp = np.zeros((h, w), np.float32)  # degrees above ambient
        self.depth = np.zeros((h, w), np.float32)
        self.label = np.zeros((h, w), np.uint8)

    def paint(self, mask, cls, colour, temp, depth, rgb_tex=None):
        """Paint ``mask`` (HxW bool) with class ``cls``; ``colour`` (3,) or HxWx3, ``temp`` and
        ``depth`` scalars or HxW arrays; ``cls=None`` paints appearance only (clutter)."""
        if not mask.any():
            return
        col = np.broadcast_to(np.asarray(colour, np.float32), self.rgb.shape)
        if rgb_tex is not None:
            col = col * (1.0 + rgb_tex[..., None])
        self.rgb[mask] = col[mask]
        if temp is not None:
            self.temp[mask] = np.broadcast_to(np.asarray(temp, np.float32), mask.shape)[mask]
        if depth is not None:
            self.depth[mask] = np.broadcast_to(np.asarray(depth, np.float32), mask.shape)[mask]
        if cls is not None:
            self.label[mask] = cls

    def rect(self, x0, y0, x1, y1):
        return (self.xx >= x0) & (self.xx <= x1) & (self.yy >= y0) & (self.yy <= y1)

    def ellipse(self, cx, cy, rx, ry):
        return ((self.xx - cx) / max(rx, 0.5)) ** 2 + ((self.yy - cy) / max(ry, 0.5)) ** 2 <= 1

    def segment(self, x0, y0, x1, y1, width):
        """Pixels within width/2 of the segment (x0, y0)-(x1, y1)."""
        dx, dy = x1 - x0, y1 - y0
        n2 = max(dx * dx + dy * dy, 1e-6)
        t = np.clip(((self.xx - x0) * dx + (self.yy - y0) * dy) / n2, 0, 1)
        d2 = (self.xx - x0 - t * dx) ** 2 + (self.yy - y0 - t * dy) ** 2
        return d2 <= (width / 2.0) ** 2

    def ring(self, cx, cy, r, width):
        d = np.sqrt((self.xx - cx) ** 2 + (self.yy - cy) ** 2)
        return np.abs(d - r) <= width / 2.0


def _random_colour(rng) -> np.ndarray:
    return rng.uniform(25, 235, 3)


def _object(c: _Canvas, rng, kind: int, cx: float, by: float, s: float, z: float) -> None:
    """Paint one object standing at bottom-centre (cx, by) with pixel scale ``s`` (pixels per
    metre) at depth ``z`` metres."""
    zt = z * (1 + 0.01 * rng.normal())
    if kind == PERSON:  # legs, torso, head: ~1.7 m tall, 0.5 m wide; clothes any colour
        top, trouser = _random_colour(rng), _random_colour(rng)
        skin = rng.uniform(60, 220) * np.array([1.0, 0.8, 0.65])
        leg_w = max(1.0, 0.14 * s)
        stride = 0.12 * s * rng.uniform(-1, 1)
        hip = by - 0.85 * s
        for sx in (-1, 1):
            c.paint(c.segment(cx + sx * 0.08 * s, hip, cx + sx * (0.08 * s + stride), by, leg_w),
                    PERSON, trouser, 33 + rng.normal(0, 1), zt)
        c.paint(c.rect(cx - 0.22 * s, by - 1.45 * s, cx + 0.22 * s, hip), PERSON, top,
                31 + rng.normal(0, 1), zt)
        c.paint(c.ellipse(cx, by - 1.58 * s, 0.11 * s, 0.13 * s), PERSON, skin,
                38 + rng.normal(0, 1), zt)
    elif kind == CAR:  # 4 m long, 1.5 m tall; body any colour, dark windows, black wheels
        body = _random_colour(rng)
        half = 2.0 * s * rng.uniform(0.8, 1.1)
        c.paint(c.rect(cx - half, by - 1.0 * s, cx + half, by - 0.25 * s), CAR, body,
                14 + rng.normal(0, 1), zt)
        c.paint(c.rect(cx - 0.55 * half, by - 1.5 * s, cx + 0.5 * half, by - 1.0 * s), CAR,
                body * 0.5 + 20, 10 + rng.normal(0, 1), zt)
        for sx in (-0.65, 0.65):
            c.paint(c.ellipse(cx + sx * half, by - 0.3 * s, 0.32 * s, 0.3 * s), CAR, (25, 25, 28),
                    26 + rng.normal(0, 1), zt)
    elif kind == BICYCLE:  # 1.7 m long: two thin wheels and a thin frame; near-ambient
        frame = _random_colour(rng)
        r = 0.33 * s
        lw = max(1.0, 0.05 * s)
        xa, xb = cx - 0.55 * s, cx + 0.55 * s
        yw = by - r
        for x in (xa, xb):
            c.paint(c.ring(x, yw, r, lw), BICYCLE, (30, 30, 30), 2 + rng.normal(0, 1), zt)
        seat = (cx - 0.15 * s, by - 0.95 * s)
        bar = (cx + 0.35 * s, by - 1.0 * s)
        crank = (cx, yw)
        for p, q in (((xa, yw), crank), (crank, seat), (seat, bar), (bar, (xb, yw)),
                     (seat, (xa, yw))):
            c.paint(c.segment(*p, *q, lw), BICYCLE, frame, 3 + rng.normal(0, 1), zt)
    elif kind == POLE:  # 3-4 m tall, 0.1 m thick, grey-ish metal, cold
        h = rng.uniform(3.0, 4.2) * s
        col = rng.uniform(70, 170) * np.ones(3) + rng.normal(0, 10, 3)
        w = max(1.0, 0.1 * s)
        c.paint(c.rect(cx - w / 2, by - h, cx + w / 2, by), POLE, col, -9 + rng.normal(0, 1), zt)
        if rng.random() < 0.5:  # a sign on top, same class
            c.paint(c.rect(cx - 0.25 * s, by - h - 0.1 * s, cx + 0.25 * s, by - h + 0.4 * s), POLE,
                    _random_colour(rng), -7 + rng.normal(0, 1), zt)
    else:  # CONE: 0.7 m, mostly orange-red with a white band (colour varies), cool
        col = np.array([rng.uniform(180, 255), rng.uniform(40, 140), rng.uniform(0, 60)])
        if rng.random() < 0.3:
            col = _random_colour(rng)
        hgt, half = 0.7 * s, 0.22 * s
        tri = (c.yy <= by) & (c.yy >= by - hgt) & (
            np.abs(c.xx - cx) <= half * (c.yy - (by - hgt)) / max(hgt, 1e-3) + 0.5
        )
        c.paint(tri, CONE, col, -4 + rng.normal(0, 1), zt)
        band = tri & (c.yy >= by - 0.55 * hgt) & (c.yy <= by - 0.4 * hgt)
        c.paint(band, CONE, (235, 235, 235), None, None)


def _motion_blur(img: np.ndarray, length: int, angle: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2.0
    for t in np.linspace(-c, c, 4 * length):
        k[int(round(c + t * np.sin(angle))), int(round(c + t * np.cos(angle)))] = 1
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def render_frame(rng: np.random.Generator, height: int = 128, width: int = 160) -> Frame:
    """Render one scene with every modality from the same geometry."""
    h, w = height, width
    c = _Canvas(h, w)
    horizon = float(h * rng.uniform(0.3, 0.45))
    focal = float(h) * 1.1
    rows = c.yy
    below = rows > horizon
    ground_z = np.where(
        below, np.minimum(CAMERA_HEIGHT_M * focal / np.maximum(rows - horizon, 1e-3), FAR_M), FAR_M
    )
    vx = w * rng.uniform(0.35, 0.65)  # vanishing point
    # --- buildings (background): facade colours, windows and posters as clutter
    sky = rows < horizon * rng.uniform(0.2, 0.6)
    c.paint(~below, BG, _random_colour(rng), 0.0, FAR_M, rgb_tex=0.12 * _smooth(rng, h, w, 8))
    c.paint(sky & ~below, BG, rng.uniform(120, 230, 3), -20.0, FAR_M)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = rng.uniform(0, w), rng.uniform(horizon * 0.2, horizon)
        ww, hh = rng.uniform(4, 18), rng.uniform(3, 12)
        m = c.rect(x0, y0 - hh, x0 + ww, y0) & ~below
        c.paint(m, None, _random_colour(rng), None, None)
    # --- ground: road between two lines through the vanishing point, sidewalks outside
    half_bottom = w * rng.uniform(0.25, 0.45)
    t = np.clip((rows - horizon) / max(h - horizon, 1), 0, 1)
    left = vx + (w / 2 - half_bottom - vx) * t
    right = vx + (w / 2 + half_bottom - vx) * t
    on_road = below & (c.xx >= left) & (c.xx <= right)
    tex = _smooth(rng, h, w, 4)
    road_col = rng.uniform(50, 120) * np.ones(3) + rng.normal(0, 6, 3)
    walk_col = rng.uniform(90, 200) * np.ones(3) + rng.normal(0, 15, 3)
    kerb_rise = 0.15 * focal / np.maximum(ground_z, 1e-3)  # pixels the kerb rises (unused in rgb)
    del kerb_rise
    walk_z = np.where(below, CAMERA_HEIGHT_M * focal / np.maximum(rows - horizon, 1e-3), FAR_M)
    walk_z = np.minimum(walk_z * (CAMERA_HEIGHT_M - 0.15) / CAMERA_HEIGHT_M, FAR_M)
    c.paint(below & ~on_road, SIDEWALK, walk_col, 3.0 + tex, walk_z,
            rgb_tex=0.1 * tex + 0.08 * (((c.xx // 6 + c.yy // 4) % 2) - 0.5))
    c.paint(on_road, ROAD, road_col, 8.0 + tex, ground_z, rgb_tex=0.15 * _smooth(rng, h, w, 3))
    # lane dashes (road), puddles / manholes (clutter on road and sidewalk)
    lane = on_road & (np.abs(c.xx - (left + right) / 2) <= 0.6 + 2.5 * t) & ((rows // 5) % 2 == 0)
    c.paint(lane, None, (225, 225, 210), None, None)
    for _ in range(int(rng.integers(1, 4))):
        cy = rng.uniform(horizon + 4, h)
        m = c.ellipse(rng.uniform(0, w), cy, rng.uniform(3, 12), rng.uniform(1, 4)) & below
        c.paint(m, None, _random_colour(rng) * 0.6, None, None)
    # --- objects, far to near
    objs: List[Tuple[float, int]] = []
    for _ in range(int(rng.integers(3, 9))):
        kind = int(rng.choice([PERSON, CAR, BICYCLE, POLE, CONE], p=[0.26, 0.22, 0.18, 0.2, 0.14]))
        objs.append((float(rng.uniform(horizon + 4, h + 6)), kind))
    objs.sort()
    for by, kind in objs:
        z = CAMERA_HEIGHT_M * focal / max(by - horizon, 1e-3)
        s = focal / z  # pixels per metre at that depth
        tt = np.clip((by - horizon) / max(h - horizon, 1), 0, 1)
        lx = vx + (w / 2 - half_bottom - vx) * tt
        rx = vx + (w / 2 + half_bottom - vx) * tt
        if kind in (POLE,):  # poles stand on the sidewalk
            cx = lx - rng.uniform(2, 12) if rng.random() < 0.5 else rx + rng.uniform(2, 12)
        else:
            cx = rng.uniform(min(lx, rx) - 10, max(lx, rx) + 10)
        _object(c, rng, kind, cx, by, s, z)

    # --- thermal: ambient + class temperatures, half resolution, blur, noise
    ambient = rng.uniform(60, 110)
    temp = ambient + c.temp + 1.5 * _smooth(rng, h, w, 10)
    small = cv2.resize(temp, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0.7)
    thermal = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) + rng.normal(0, 1.5, (h, w))

    # --- RGB capture: exposure, shot + read noise, 8-bit quantisation, digital gain, blur
    light = rng.uniform(0.85, 1.15, 3)  # colour cast of the light source
    exposure = float(rng.uniform(0.4, 1.0)) if rng.random() < 0.35 else float(
        np.exp(rng.uniform(np.log(0.01), np.log(0.4)))
    )
    signal = np.clip(c.rgb * light, 0, 255) * exposure
    signal = signal + rng.normal(0, 1, signal.shape) * np.sqrt(signal + 1.5**2)
    signal = np.round(np.clip(signal, 0, 255))
    gain = min(1.0 / exposure, 25.0)
    rgb = signal * gain
    blur_px = 0
    if rng.random() < 0.4:
        blur_px = int(rng.integers(3, 10))
        rgb = _motion_blur(rgb.astype(np.float32), blur_px, float(rng.uniform(0, np.pi)))

    depth = c.depth * (1 + 0.01 * rng.normal(0, 1, (h, w)))
    depth[rng.random((h, w)) < 0.02] = 0.0
    return Frame(
        rgb=np.clip(rgb, 0, 255).astype(np.uint8),
        thermal=np.clip(thermal, 0, 255).astype(np.uint8),
        depth=depth.astype(np.float32),
        label=c.label,
        exposure=exposure,
        blur_px=blur_px,
    )


def meta_for(seed: int, height: int, width: int, splits: Dict[str, int]) -> Dict:
    return {
        'name': 'synthetic_v3',
        'classes': list(CLASSES),
        'palette': [list(p) for p in PALETTE],
        'ignore_index': 255,
        'label_offset': 0,
        'label': {'folder': 'Label', 'ext': '.png'},
        'modalities': {
            'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3},
            'thermal': {
                'folder': 'Thermal', 'ext': '.png', 'dtype': 'uint8', 'channels': 1, 'unit': 'raw'
            },
            'depth': {
                'folder': 'Depth', 'ext': '.png', 'dtype': 'uint16', 'channels': 1,
                'unit': 'mm', 'scale': 0.001,
            },
        },
        'splits': {name: f'{name}.txt' for name in splits},
        'split_source': 'consecutive stems in the order ' + ', '.join(
            f'{k} ({v})' for k, v in splits.items()) + f' (generator seed {seed})',
        'generator': {
            'script': 'data_prep/synthetic_v3.py',
            'version': GENERATOR_VERSION,
            'seed': seed,
            'height': height,
            'width': width,
            'splits': dict(splits),
        },
    }


def generate(
    out: str,
    seed: int = 0,
    height: int = 128,
    width: int = 160,
    splits: Dict[str, int] = None,
    force: bool = False,
    progress: bool = True,
) -> Dict:
    """Write the v3 dataset to ``out`` and return its meta dict. ``splits`` maps split name ->
    frames (default :data:`SPLITS`). Re-running with the same arguments on a complete output is a
    no-op; an output this generator wrote with other arguments is replaced; anything else needs
    ``force=True``."""
    splits = dict(splits or SPLITS)
    meta = meta_for(seed, height, width, splits)
    meta_path = os.path.join(out, 'meta.json')
    if os.path.exists(out) and os.listdir(out):
        old = None
        if os.path.isfile(meta_path):
            with open(meta_path) as f:
                old = json.load(f)
            if old.get('generator') == meta['generator']:
                return old
        own = bool(old) and old.get('generator', {}).get('script') == meta['generator']['script']
        if not (force or own):
            raise FileExistsError(
                f'{out} exists and holds a different dataset (or no meta.json); pass --force'
            )
        shutil.rmtree(out)
    files = DatasetFiles(out, {**meta['modalities'], 'label': meta['label']})
    files.make_folders()
    rng = np.random.default_rng(seed)
    total = sum(splits.values())
    it = range(total)
    if progress:
        try:
            from tqdm import tqdm

            it = tqdm(it, desc='synthetic v3', unit='frame', file=sys.stderr)
        except ImportError:
            pass
    stems, night, blurred = [], 0, 0
    for i in it:
        fr = render_frame(rng, height, width)
        stem = f'{i:05d}'
        stems.append(stem)
        files.write('rgb', stem, fr.rgb)
        files.write('thermal', stem, fr.thermal)
        files.write('depth', stem, np.clip(np.round(fr.depth * 1000), 0, 65535).astype(np.uint16))
        files.write('label', stem, fr.label)
        night += fr.exposure < 0.4
        blurred += fr.blur_px > 0
    split_stems, start = {}, 0
    for name, n in splits.items():
        split_stems[name] = stems[start : start + n]
        start += n
    files.write_splits(split_stems, pairs=False)
    meta['statistics'] = {'frames': total, 'low_light_frames': int(night),
                          'motion_blurred_frames': int(blurred)}
    files.write_meta(meta, style='plain')  # last: its presence marks a complete output
    return meta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data/synthetic_v3', help='output dataset root')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--height', type=int, default=128)
    p.add_argument('--width', type=int, default=160)
    p.add_argument('--splits', default=','.join(f'{k}={v}' for k, v in SPLITS),
                   help='name=frames,... (default %(default)s)')
    p.add_argument('--force', action='store_true', help='replace an existing different output')
    a = p.parse_args(argv)
    try:
        splits = {k: int(v) for k, v in (s.split('=') for s in a.splits.split(','))}
    except ValueError:
        p.error(f'--splits must look like train=1000,val=250,test=500, got {a.splits!r}')
    meta = generate(a.out, a.seed, a.height, a.width, splits, a.force)
    print(json.dumps({'out': a.out, 'name': meta['name'], **meta.get('statistics', {})}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
