"""HHA depth encoding (Gupta, Girshick, Arbelaez, Malik, "Learning Rich Features from RGB-D Images
for Object Detection and Segmentation", ECCV 2014).

Three uint8 channels per pixel, in this order (RGB order on disk, like the authors' MATLAB
``saveHHA`` + ``imwrite``):

1. horizontal **disparity**: ``31000 / max(z_cm, 100)``;
2. **height** above the lowest observed point along gravity, in cm (a camera that sees nothing lower
   than 90 cm below itself is assumed 130 cm above the floor);
3. **angle** of the surface normal, in degrees, ``+ 38`` (``128 - 90``: walls -> 128).

Steps (paper §3 and the structure of the authors' released MATLAB code, re-implemented with
numpy/cv2): back-project the filled depth with the camera matrix (cm; 1-based pixel coordinates as
in MATLAB); estimate normals by a least-squares plane fit ``a X + b Y + c Z = 1`` (solved in the
``(X/Z, Y/Z, 1) -> 1/Z`` form) over square windows of half-size 3 (for the angle) and 10 (for
gravity), zero-padded at the image border, leaving out pixels marked missing; estimate the gravity
direction by iteratively refining ``y`` (start ``(0, 1, 0)`` = image-down) as the eigenvector with
the smallest eigenvalue of ``sum_W n n^T - sum_F n n^T``, F = normals within 45 deg (then 15 deg) of
``y``, W = normals within 45 (15) deg of perpendicular, 5 iterations per threshold; rotate the cloud
so gravity is the y axis. The angle is measured between the camera-facing normal and "up" (floors 0
-> 38, walls 90 -> 128, ceilings 180 -> 218). Channels are rounded half up and saturated to
[0, 255]; undefined -> 0.

Missing-pixel mask: the paper/code take it from the *raw* depth (``raw == 0``). The widely used
MATLAB reference output (Depth2HHA-python ``demo/matlab_hha.png``; SA-Gate/CMX HHA images match it)
is reproduced only when no pixel of the filled depth is treated as missing; that is the default here
(``raw_depth_m=None``). Passing the raw depth gives the paper's variant (mean |diff| to the
reference ~28 levels on the angle channel). Measured on NYU frame 0 against matlab_hha.png with the
default (tests/data_prep/test_hha.py): mean |diff| per channel 0 / 0.00001 / 0 levels, max 0 / 1 / 0
(2 height pixels on exact .5 rounding ties).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

# NYU Depth v2 colour camera (Depth2HHA / NYU toolbox camera_params): fx, fy, cx, cy
# (pixels, 1-based).
NYU_CAMERA = np.array([[518.8579, 0.0, 325.5824], [0.0, 519.4696, 253.7362], [0.0, 0.0, 1.0]])


def backproject(z_cm: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(H, W) depth -> (H, W, 3) camera-frame points in the depth's unit (x right, y down, z
    forward).

    Pixel coordinates are 1-based (MATLAB convention of the camera parameters).
    """
    h, w = z_cm.shape
    xx, yy = np.meshgrid(
        np.arange(1, w + 1, dtype=np.float64), np.arange(1, h + 1, dtype=np.float64)
    )
    x = (xx - K[0, 2]) * z_cm / K[0, 0]
    y = (yy - K[1, 2]) * z_cm / K[1, 1]
    return np.stack([x, y, z_cm], axis=2)


def _box_sum(a: np.ndarray, r: int) -> np.ndarray:
    """Sum over a (2r+1)^2 window, zero padding (border windows use the pixels they cover)."""
    return cv2.boxFilter(
        a, -1, (2 * r + 1, 2 * r + 1), normalize=False, borderType=cv2.BORDER_CONSTANT
    )


def normals_square_support(pc: np.ndarray, valid: np.ndarray, r: int) -> np.ndarray:
    """Surface normals by a least-squares plane fit in (2r+1)^2 windows.

    Args:
        pc: (H, W, 3) points (cm). valid: (H, W) bool, pixels that may enter a fit.
        r: window half-size.
    Returns:
        (H, W, 3) unit normals, oriented towards the camera (``n . p <= 0``); NaN where undefined.
    """
    x, y, z = pc[..., 0], pc[..., 1], pc[..., 2]
    ok = valid & (z > 0)
    zs = np.where(ok, z, 1.0)
    u = np.where(ok, x / zs, 0.0)
    v = np.where(ok, y / zs, 0.0)
    one = ok.astype(np.float64)
    iz = np.where(ok, 1.0 / zs, 0.0)
    # A^T A (symmetric 3x3: u, v, 1) and A^T b (b = 1/z), summed over the window.
    terms = [u * u, u * v, u * one, v * v, v * one, one, u * iz, v * iz, iz]
    s = [_box_sum(t.astype(np.float64), r) for t in terms]
    a11, a12, a13, a22, a23, a33, b1, b2, b3 = s
    det = (
        a11 * (a22 * a33 - a23 * a23)
        - a12 * (a12 * a33 - a23 * a13)
        + a13 * (a12 * a23 - a22 * a13)
    )
    with np.errstate(divide='ignore', invalid='ignore'):
        c11 = a22 * a33 - a23 * a23
        c12 = a13 * a23 - a12 * a33
        c13 = a12 * a23 - a13 * a22
        c22 = a11 * a33 - a13 * a13
        c23 = a12 * a13 - a11 * a23
        c33 = a11 * a22 - a12 * a12
        n = (
            np.stack(
                [
                    c11 * b1 + c12 * b2 + c13 * b3,
                    c12 * b1 + c22 * b2 + c23 * b3,
                    c13 * b1 + c23 * b2 + c33 * b3,
                ],
                axis=2,
            )
            / det[..., None]
        )
        n = n / np.linalg.norm(n, axis=2, keepdims=True)
    bad = ~np.isfinite(n).all(axis=2) | (np.abs(det) < 1e-12) | (s[5] < 3)
    n[bad] = np.nan
    # orient towards the camera: n . p <= 0
    sgn = np.sign(np.sum(n * pc, axis=2))
    sgn[sgn == 0] = 1
    return n * -sgn[..., None]


def gravity_direction(
    normals: np.ndarray,
    y0: Sequence[float] = (0.0, 1.0, 0.0),
    angle_thresh: Sequence[float] = (45.0, 15.0),
    iters: Sequence[int] = (5, 5),
) -> np.ndarray:
    """Estimate the gravity direction (unit 3-vector, camera frame, same sign as ``y0``) from
    normals."""
    nn = normals.reshape(-1, 3)
    nn = nn[np.isfinite(nn).all(axis=1)]
    y = np.asarray(y0, np.float64)
    for thresh, it in zip(angle_thresh, iters):
        for _ in range(it):
            sim = nn @ y
            nf = nn[np.abs(sim) > np.cos(np.deg2rad(thresh))]
            nw = nn[np.abs(sim) < np.sin(np.deg2rad(thresh))]
            a = nw.T @ nw - nf.T @ nf
            w, vecs = np.linalg.eigh(a)
            new = vecs[:, np.argmin(w)]
            y = new * (np.sign(new @ y) or 1.0)
    return y / np.linalg.norm(y)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrix R with ``R @ a = b`` (unit vectors), about the axis ``a x b`` (Rodrigues)."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis)
    c = float(np.clip(a @ b, -1.0, 1.0))
    if s < 1e-12:
        return np.eye(3) if c > 0 else -np.eye(3)
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * (kx @ kx)


def hha_channels(
    depth_m: np.ndarray, raw_depth_m: Optional[np.ndarray] = None, K: np.ndarray = NYU_CAMERA
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float HHA channels (disparity, height cm, angle deg) before quantisation; see
    :func:`depth_to_hha`."""
    depth_m = np.asarray(depth_m, np.float64)
    if depth_m.ndim != 2:
        raise ValueError(f'depth must be HxW, got shape {depth_m.shape}')
    valid = (raw_depth_m > 0) if raw_depth_m is not None else (depth_m > 0)
    z = depth_m * 100.0
    pc = backproject(z, K)
    n_angle = normals_square_support(pc, valid, 3)
    n_grav = normals_square_support(pc, valid, 10)
    g = gravity_direction(n_grav)
    R = rotation_between(np.array([0.0, 1.0, 0.0]), g)  # R @ y0 = g
    pc_rot = pc @ R  # = (R^T p) per row: gravity -> +y
    h = -pc_rot[..., 1]
    ok = np.isfinite(h) & (z > 0)
    y_min = float(h[ok].min()) if ok.any() else -130.0
    if y_min > -90:
        y_min = -130.0
    height = h - y_min
    with np.errstate(invalid='ignore'):
        # angle between the camera-facing normal and "up" (-gravity):
        # floors 0, walls 90, ceilings 180
        angle = np.degrees(np.arccos(np.clip(np.sum(n_angle * -g, axis=2), -1.0, 1.0)))
    disparity = 31000.0 / np.maximum(z, 100.0)
    return disparity, height, angle


def depth_to_hha(
    depth_m: np.ndarray, raw_depth_m: Optional[np.ndarray] = None, K: np.ndarray = NYU_CAMERA
) -> np.ndarray:
    """Encode depth as HHA.

    Args:
        depth_m: (H, W) filled/in-painted depth in metres (NYU ``depths``).
        raw_depth_m: (H, W) raw depth in metres, 0 = missing; its missing pixels are left out of the
            normal fits (the paper's variant). None (default): only ``depth_m <= 0`` is missing,
            which reproduces the MATLAB reference HHA images.
        K: 3x3 colour camera matrix (pixels, 1-based principal point), default NYU Depth v2.
    Returns:
        (H, W, 3) uint8, channels (disparity, height, angle) -- write in RGB order.
    """
    disparity, height, angle = hha_channels(depth_m, raw_depth_m, K)
    out = np.stack([disparity, height, angle + 38.0], axis=2)
    out = np.where(np.isfinite(out), out, 0.0)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
