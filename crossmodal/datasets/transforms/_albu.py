"""Building albumentations transforms from config dicts, reproducibly.

albumentations 2.x keeps its own random generators; we reseed them on every call from numpy's
global generator, which MMEngine seeds (``randomness=dict(seed=...)``) per process and worker,
so augmentation is reproducible under a fixed seed.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Union

import numpy as np


def build_albu(cfg: Union[Dict, object]):
    """Build one albumentations transform from ``dict(type='HorizontalFlip', p=0.5)``."""
    import albumentations as A

    if not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    name = cfg.pop('type')
    if not hasattr(A, name):
        raise ValueError(f'unknown albumentations transform {name!r}')
    return getattr(A, name)(**cfg)


def build_albu_list(cfgs: Sequence) -> List:
    return [build_albu(c) for c in cfgs]


def reseed(compose) -> None:
    compose.set_random_seed(int(np.random.randint(0, 2**31 - 1)))
