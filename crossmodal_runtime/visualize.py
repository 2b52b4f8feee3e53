"""Colour label maps with a dataset palette, overlays and side-by-side panels (numpy + OpenCV)."""

from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

__all__ = ['colorize', 'overlay', 'side_by_side', 'IGNORE_COLOR']

IGNORE_COLOR = (0, 0, 0)


def colorize(
    labels: np.ndarray, palette: Sequence[Sequence[int]], ignore_index: int = 255
) -> np.ndarray:
    """(H, W) integer labels -> (H, W, 3) uint8 RGB image; ``ignore_index`` and ids outside the
    palette are drawn black."""
    pal = np.zeros((max(256, len(palette) + 1), 3), np.uint8)
    pal[: len(palette)] = np.asarray(palette, np.uint8).reshape(-1, 3)
    lab = labels.astype(np.int64)
    out_of_range = (lab < 0) | (lab >= len(palette)) | (lab == ignore_index)
    img = pal[np.clip(lab, 0, pal.shape[0] - 1)]
    img[out_of_range] = IGNORE_COLOR
    return img


def overlay(
    frame_rgb: np.ndarray, labels: np.ndarray, palette: Sequence[Sequence[int]], alpha: float = 0.5
) -> np.ndarray:
    """Blend the colourised labels over an RGB frame; ``alpha`` is the weight of the colours."""
    col = colorize(labels, palette)
    return cv2.addWeighted(frame_rgb, 1.0 - alpha, col, alpha, 0.0)


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    scale = max(0.3, img.shape[1] / 640.0)
    cv2.putText(
        img,
        text,
        (4, int(14 * scale) + 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45 * scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return img


def side_by_side(
    frame_rgb: np.ndarray,
    labels: np.ndarray,
    palette: Sequence[Sequence[int]],
    gt: Optional[np.ndarray] = None,
    ignore_index: int = 255,
) -> np.ndarray:
    """(H, 3W or 2W, 3) uint8 RGB panel: input | prediction overlay | ground truth (if given)."""
    panels = [
        _caption(frame_rgb, 'input'),
        _caption(overlay(frame_rgb, labels, palette), 'prediction'),
    ]
    if gt is not None:
        if gt.shape[:2] != frame_rgb.shape[:2]:
            raise ValueError(
                f'ground truth has shape {gt.shape[:2]}, the frame {frame_rgb.shape[:2]}'
            )
        panels.append(_caption(colorize(gt, palette, ignore_index), 'ground truth'))
    return np.concatenate(panels, axis=1)
