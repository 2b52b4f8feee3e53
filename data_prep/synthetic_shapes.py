"""The synthetic "ImageNet" of the embedded benchmark: random textured shapes to pretrain a MiT.

Real RGB-X work starts every backbone from ImageNet weights; the embedded benchmark v3 does the
same with a tiny MiT pretrained once on this *separate* task (``tools/pretrain_mit.py``), so that
teachers and students start from the same generic features and seed noise shrinks. The task is
deliberately not the street scenes of ``data_prep/synthetic_v3.py``: it is segmentation of random
shapes (:data:`CLASSES`) drawn in random colours over textured, cluttered backgrounds, with generic
photometric variety (brightness, contrast, Gaussian noise, blur), like ImageNet plus the usual
augmentation.

Frames are rendered in memory, deterministically from ``(seed, index)``; nothing is written to
disk. ``render_batch(seed, start, n)`` -> ``(images uint8 n x H x W x 3, labels uint8 n x H x W)``.
"""

from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

CLASSES = ('background', 'disk', 'box', 'triangle', 'ring', 'stroke', 'cross')


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """HxWx3 float32 background: a colour, low-frequency noise, random stripes or checks."""
    col = rng.uniform(0, 255, 3).astype(np.float32)
    small = rng.uniform(-1, 1, (max(2, h // 8), max(2, w // 8), 3)).astype(np.float32)
    img = col + rng.uniform(10, 60) * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w]
        period = rng.uniform(3, 16)
        ang = rng.uniform(0, np.pi)
        stripes = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period)
        img = img + rng.uniform(10, 50) * stripes[..., None]
    return img


def render_frame(rng: np.random.Generator, height: int = 128, width: int = 160):
    """One frame: ``(image uint8 HxWx3, label uint8 HxW)`` with 2-9 shapes (later on top)."""
    h, w = height, width
    img = _texture(rng, h, w)
    label = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(2, 10))):
        kind = int(rng.integers(1, len(CLASSES)))
        mask = np.zeros((h, w), np.uint8)
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        r = int(rng.uniform(4, min(h, w) * 0.35))
        ang = float(rng.uniform(0, 180))
        if kind == 1:
            cv2.ellipse(mask, (cx, cy), (r, int(r * rng.uniform(0.4, 1.0))), ang, 0, 360, 1, -1)
        elif kind == 2:
            box = cv2.boxPoints(((cx, cy), (2 * r, 2 * r * rng.uniform(0.3, 1.0)), ang))
            cv2.fillPoly(mask, [box.astype(np.int32)], 1)
        elif kind == 3:
            pts = np.array([[cx + r * np.cos(a), cy + r * np.sin(a)]
                            for a in np.deg2rad(ang) + np.array([0, 2.1, 4.2])
                            + rng.uniform(-0.3, 0.3, 3)])
            cv2.fillPoly(mask, [pts.astype(np.int32)], 1)
        elif kind == 4:
            cv2.circle(mask, (cx, cy), r, 1, int(rng.integers(1, max(2, r // 3))))
        elif kind == 5:
            a = np.deg2rad(ang)
            p2 = (int(cx + 2 * r * np.cos(a)), int(cy + 2 * r * np.sin(a)))
            cv2.line(mask, (cx, cy), p2, 1, int(rng.integers(1, 5)))
        else:
            t = int(rng.integers(1, max(2, r // 3)))
            for a in (ang, ang + 90):
                dx, dy = r * np.cos(np.deg2rad(a)), r * np.sin(np.deg2rad(a))
                cv2.line(mask, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), 1, t)
        m = mask.astype(bool)
        if not m.any():
            continue
        fill = _texture(rng, h, w) if rng.random() < 0.4 else rng.uniform(0, 255, 3)
        img[m] = np.broadcast_to(fill, img.shape)[m]
        label[m] = kind
    # generic photometric variety
    img = (img - 128) * rng.uniform(0.5, 1.3) + 128 * rng.uniform(0.4, 1.2)
    if rng.random() < 0.5:
        img = img + rng.normal(0, rng.uniform(2, 25), img.shape)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img.astype(np.float32), (5, 5), rng.uniform(0.5, 1.5))
    return np.clip(img, 0, 255).astype(np.uint8), label


def render_batch(
    seed: int, start: int, n: int, height: int = 128, width: int = 160
) -> Tuple[np.ndarray, np.ndarray]:
    """Frames ``start .. start+n-1`` of the pretraining stream ``seed`` (frame i depends only on
    ``(seed, i)``): images uint8 (n, H, W, 3), labels uint8 (n, H, W)."""
    imgs, labels = [], []
    for i in range(start, start + n):
        im, lb = render_frame(np.random.default_rng([seed, i]), height, width)
        imgs.append(im)
        labels.append(lb)
    return np.stack(imgs), np.stack(labels)
