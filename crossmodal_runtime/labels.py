"""Stored label values -> train ids: the one decoding rule of the data contract (docs/design.md §3).

``train_id = stored + label_offset``; stored 255, a negative train id, the ignore index and a train
id above 255 are void (255). numpy only, so that ``tools/infer.py`` (no torch, no mmseg) and the
training loader (:mod:`crossmodal.datasets.transforms.loading`, via
:mod:`crossmodal.datasets.contract`) decode ground truth the same way.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

VOID = 255


def label_void_and_class(
    label_offset: int, num_classes: int, ignore_index: int = VOID
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over stored values 0..255: (train ids, is_void, is_class)."""
    stored = np.arange(256)
    train = stored + int(label_offset)
    void = (stored == VOID) | (train < 0) | (train == ignore_index)
    return train, void, ~void & (train < num_classes)


def label_lut(label_offset: int, ignore_index: int = VOID) -> np.ndarray:
    """(256,) uint8 look-up table: stored value -> train id, 255 for void."""
    train, void, _ = label_void_and_class(label_offset, 256, ignore_index)
    return np.where(void | (train > VOID), VOID, train).astype(np.uint8)


def stored_to_train_ids(
    stored: np.ndarray, label_offset: int, ignore_index: int = VOID
) -> np.ndarray:
    """A stored label map (uint8, or a wider integer type) -> uint8 train ids, 255 = void.

    Values are not checked against the number of classes (the loader does that first)."""
    stored = np.asarray(stored)
    if stored.dtype == np.uint8:
        return label_lut(label_offset, ignore_index)[stored]
    ids = stored.astype(np.int64) + int(label_offset)
    void = (stored == VOID) | (ids < 0) | (ids > VOID) | (ids == ignore_index)
    return np.where(void, VOID, ids).astype(np.uint8)
