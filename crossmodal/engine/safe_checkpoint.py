"""Checkpoints that survive ``kill -9``, and a ``--resume`` that never picks a broken file.

mmengine 0.10.7's ``CheckpointHook`` removes the oldest kept checkpoint *before* writing the new
one, and writes the new one in place (``LocalBackend.put``); a process killed during the write
leaves a truncated ``iter_<n>.pth`` and, with ``max_keep_ckpts=1``, nothing to resume from.

:class:`SafeCheckpointHook` (``default_hooks.checkpoint`` of every schedule, and swapped in for a
plain ``CheckpointHook`` by :func:`crossmodal.utils.runner_setup.install_reliability_hooks`) keeps
``CheckpointHook``'s options and behaviour, but for local work dirs:

1. writes ``iter_<n>.pth.tmp`` in the same folder, flushes it to disk (fsync) and renames it to
   ``iter_<n>.pth`` (``os.replace``, atomic);
2. then rewrites ``last_checkpoint`` the same way (temporary file + rename);
3. only then removes the checkpoints beyond ``max_keep_ckpts`` (and, for ``save_best``, the
   previous best checkpoint).

A kill at any moment therefore leaves the previous checkpoint and a ``last_checkpoint`` naming a
complete file. Stale ``*.pth.tmp`` files of a killed run are removed (and logged) when training
starts. Other storage backends keep mmengine's behaviour.

:func:`find_resume_checkpoint` is ``tools/train.py --resume`` (no path): it checks that the file
named by ``last_checkpoint`` loads (``weights_only`` with ``mmap``: the zip structure and the
pickle, not the tensor bytes) and otherwise falls back, with a warning, to the newest complete
``iter_<n>.pth`` / ``epoch_<n>.pth`` in the work dir; temporary files are never candidates.
:func:`finished_run_message` lets ``tools/train.py`` stop a ``--resume`` of a finished run with a
clear message instead of replaying the whole dataloader and exiting.
"""

from __future__ import annotations

import logging
import os
import os.path as osp
import re
import shutil
from collections import deque
from typing import Any, List, Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

__all__ = [
    'SafeCheckpointHook',
    'atomic_write_text',
    'find_resume_checkpoint',
    'checkpoint_meta',
    'finished_run_message',
    'TMP_SUFFIX',
]

TMP_SUFFIX = '.tmp'
_CKPT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = path + TMP_SUFFIX
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(osp.dirname(osp.abspath(path)))


def _remove(path: str) -> bool:
    if osp.isfile(path):
        os.remove(path)
        return True
    if osp.isdir(path):  # checkpoints saved by deepspeed are directories
        shutil.rmtree(path)
        return True
    return False


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with atomic writes and cleanup after the new file is complete."""

    def _is_local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._is_local() and is_main_process() and osp.isdir(self.out_dir):
            for name in sorted(os.listdir(self.out_dir)):
                if name.endswith('.pth' + TMP_SUFFIX):
                    os.remove(osp.join(self.out_dir, name))
                    runner.logger.warning(
                        f'removed {name}: the incomplete checkpoint write of an '
                        f'interrupted run (the complete checkpoints are kept)'
                    )

    def _atomic_save(self, runner, out_dir: str, filename: str, **kwargs) -> None:
        """``Runner.save_checkpoint`` to ``<filename>.tmp``, then fsync and rename."""
        final = osp.join(out_dir, filename)
        tmp = final + TMP_SUFFIX
        # the class attribute: _save_best_checkpoint shadows runner.save_checkpoint (see below)
        type(runner).save_checkpoint(runner, out_dir, filename + TMP_SUFFIX, **kwargs)
        if is_main_process():
            _fsync_file(tmp)
            os.replace(tmp, final)
            _fsync_dir(out_dir)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._is_local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated: List[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            ids = list(self.keep_ckpt_ids) + [step]
            outdated = ids[: -self.max_keep_ckpts]
            self.keep_ckpt_ids = deque(ids[-self.max_keep_ckpts :], self.max_keep_ckpts)
            # in the message hub before saving, so the new checkpoint knows what is kept
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._atomic_save(
            runner,
            self.out_dir,
            filename,
            file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in outdated:  # only now that the new checkpoint is complete and named
            _remove(osp.join(self.out_dir, self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic, with its writes made atomic and the removal of the
        previous best deferred until the new best (and the re-saved last checkpoint) exist."""
        if not self._is_local() or not self.save_best:
            return super()._save_best_checkpoint(runner, metrics)
        deferred: List[str] = []
        backend = self.file_backend

        def save(out_dir, filename, *args, **kwargs):
            if args:
                raise TypeError(
                    'SafeCheckpointHook: unexpected positional arguments to save_checkpoint'
                )
            self._atomic_save(runner, out_dir, filename, **kwargs)

        runner.save_checkpoint = save  # instance attributes shadow the methods for this call
        backend.remove = deferred.append
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            del runner.save_checkpoint
            del backend.remove
        current = {
            osp.abspath(str(p))
            for p in [
                getattr(self, 'best_ckpt_path', None),
                *(getattr(self, 'best_ckpt_path_dict', None) or {}).values(),
            ]
            if p
        }
        if is_main_process():
            for path in deferred:
                if osp.abspath(str(path)) not in current and _remove(str(path)):
                    runner.logger.info(f'removed the previous best checkpoint {path}')


# -- resume --------------------------------------------------------------------------------------
def checkpoint_meta(path: str) -> dict:
    """The ``meta`` of a complete runner checkpoint; ``RuntimeError`` if it is truncated, corrupt,
    refused by the allow-list or not a runner checkpoint (tensors are mapped, not read)."""
    from crossmodal.compat import load_checkpoint_file

    ckpt = load_checkpoint_file(path, map_location='cpu', mmap=True)
    if (
        not isinstance(ckpt, dict)
        or 'state_dict' not in ckpt
        or not isinstance(ckpt.get('meta'), dict)
    ):
        raise RuntimeError(f'{path} is not a training checkpoint (no state_dict / meta)')
    return ckpt['meta']


def _candidates(folders: List[str]) -> List[Tuple[int, str]]:
    found = {}
    for folder in folders:
        if not osp.isdir(folder):
            continue
        for name in os.listdir(folder):
            m = _CKPT_NAME.match(name)  # iter_<n>.pth / epoch_<n>.pth: never *.tmp, best_*
            if m and osp.isfile(osp.join(folder, name)):
                path = osp.join(folder, name)
                found[osp.abspath(path)] = (int(m.group(1)), path)
    return sorted(found.values(), reverse=True)


def find_resume_checkpoint(work_dir: str, logger: Any = 'current') -> Optional[str]:
    """The checkpoint ``--resume`` (without a path) continues from.

    The file named by ``<work_dir>/last_checkpoint`` if it loads; otherwise the newest complete
    ``iter_<n>.pth`` / ``epoch_<n>.pth`` (in the work dir and the folder ``last_checkpoint`` points
    to), with a warning saying so. None when the work dir holds no checkpoint at all (training
    starts from scratch, as mmengine does). ``RuntimeError`` when checkpoints exist but none is
    complete (nothing is silently restarted).
    """
    marker = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(marker):
        with open(marker) as f:
            named = f.read().strip() or None
    problem = None
    if named is not None:
        if osp.isfile(named):
            try:
                checkpoint_meta(named)
                return named
            except RuntimeError as e:
                problem = f'{named} cannot be resumed from ({e})'
        else:
            problem = f'{named} does not exist'
    folders = [work_dir] + ([osp.dirname(named)] if named else [])
    rejected = []
    for _, path in _candidates(folders):
        if named is not None and osp.abspath(path) == osp.abspath(named):
            continue
        try:
            checkpoint_meta(path)
        except RuntimeError as e:
            rejected.append(f'{path}: {e}')
            continue
        reason = f'{marker} names {problem}' if problem else f'there is no {marker}'
        print_log(
            f'{reason}; resuming from the newest complete checkpoint {path} instead'
            + (f' (also skipped: {rejected})' if rejected else ''),
            logger=logger,
            level=logging.WARNING,
        )
        return path
    if problem is None and not rejected:
        print_log(
            f'--resume: no checkpoint in {work_dir}; training starts from scratch',
            logger=logger,
            level=logging.WARNING,
        )
        return None
    raise RuntimeError(
        f'--resume: no complete checkpoint to resume from in {work_dir}: '
        + '; '.join(([problem] if problem else []) + rejected)
    )


def finished_run_message(path: str, train_cfg: Any) -> Optional[str]:
    """A message when the checkpoint ``path`` is already at the end of ``train_cfg``; else None."""
    meta = checkpoint_meta(path)
    train_cfg = train_cfg or {}
    if 'max_iters' in train_cfg and 'iter' in meta:
        done, total, key, unit = (
            int(meta['iter']),
            int(train_cfg['max_iters']),
            'max_iters',
            'iteration',
        )
    elif 'max_epochs' in train_cfg and 'epoch' in meta:
        done, total, key, unit = (
            int(meta['epoch']),
            int(train_cfg['max_epochs']),
            'max_epochs',
            'epoch',
        )
    else:
        return None
    if done < total:
        return None
    return (
        f'the run is finished: {path} is at {unit} {done} and train_cfg.{key} is {total}, so '
        f'there is nothing left to train (nothing was replayed or changed). To train longer, '
        f'resume with --cfg-options train_cfg.{key}=<more than {done}> (and extend the '
        f'param_scheduler if it should not stay at its final value).'
    )
