"""Finding a trained model's checkpoint from what a config names: a file or a work dir.

mmengine's ``CheckpointHook`` writes ``iter_<N>.pth``, ``best_<metric>_iter_<N>.pth`` (with
``save_best``) and a ``last_checkpoint`` file holding the latest path, so a fixed name such as
``work_dirs/<teacher>/best_mIoU.pth`` never exists. Configs therefore name the teacher's work dir
and :func:`resolve_trained_checkpoint` picks the checkpoint in it.
"""

from __future__ import annotations

import glob
import os.path as osp
from typing import Optional


def resolve_trained_checkpoint(
    path: str, what: str = 'checkpoint', cfg_key: Optional[str] = None, prefer: str = 'best'
) -> str:
    """The checkpoint file that ``path`` names.

    Args:
        path: a ``.pth`` file, or a work dir of a finished (or running) training.
        what: what the checkpoint is, for the error (e.g. ``'teacher "teacher"'``).
        cfg_key: the config key that sets ``path``, named in the error.
        prefer: in a work dir, ``'best'`` (the newest ``best_*.pth``, else the latest) or
            ``'last'`` (the one ``last_checkpoint`` names, else the newest ``iter_*``/``epoch_*``).

    Raises:
        FileNotFoundError: nothing usable at ``path``; says which key to set.
    """
    hint = (
        f'; train it first or set --cfg-options {cfg_key}=<checkpoint .pth or work dir>'
        if cfg_key
        else ''
    )
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        found = _pick_in_work_dir(path, prefer)
        if found:
            return found
        raise FileNotFoundError(
            f'{what}: the work dir {path} holds no checkpoint (no best_*.pth, '
            f'last_checkpoint or iter_*.pth){hint}'
        )
    raise FileNotFoundError(f'{what}: checkpoint {path} does not exist{hint}')


def _newest(paths):
    paths = [p for p in paths if osp.isfile(p)]
    return max(paths, key=lambda p: (osp.getmtime(p), p)) if paths else None


def _pick_in_work_dir(work_dir: str, prefer: str) -> Optional[str]:
    best = _newest(glob.glob(osp.join(work_dir, 'best_*.pth')))
    last = None
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            named = f.read().strip()
        for cand in (named, osp.join(work_dir, osp.basename(named))):
            if cand and osp.isfile(cand):
                last = cand
                break
    if last is None:
        last = _newest(
            glob.glob(osp.join(work_dir, 'iter_*.pth'))
            + glob.glob(osp.join(work_dir, 'epoch_*.pth'))
        )
    if prefer == 'best':
        return best or last
    if prefer == 'last':
        return last or best
    raise ValueError(f"prefer must be 'best' or 'last', got {prefer!r}")
