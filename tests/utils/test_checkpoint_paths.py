"""Trained checkpoints named by a file or a work dir (crossmodal/utils/checkpoint_paths.py), as the
distillation configs name their teachers and tools/test.py takes its checkpoint."""

import os
import sys
import time

import pytest
import torch

from crossmodal.utils.checkpoint_paths import resolve_trained_checkpoint


def _touch(path, t):
    path.write_bytes(b'x')
    os.utime(path, (t, t))
    return str(path)


def test_work_dir_prefers_the_newest_best_then_the_latest(tmp_path):
    now = time.time()
    _touch(tmp_path / 'iter_100.pth', now - 30)
    last = _touch(tmp_path / 'iter_200.pth', now - 20)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_200.pth'))
    assert resolve_trained_checkpoint(str(tmp_path)) == last  # no best yet: the latest
    _touch(tmp_path / 'best_mIoU_iter_100.pth', now - 25)
    best = _touch(tmp_path / 'best_mIoU_iter_150.pth', now - 10)
    assert resolve_trained_checkpoint(str(tmp_path)) == best
    assert resolve_trained_checkpoint(str(tmp_path), prefer='last') == last
    assert resolve_trained_checkpoint(best) == best
    # a moved work dir: last_checkpoint holds the old absolute path, the file name still resolves
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/iter_200.pth')
    assert resolve_trained_checkpoint(str(tmp_path), prefer='last') == last


def test_missing_checkpoint_names_the_key(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r'does not exist; train it first or set --cfg-options '
        r'model\.teachers\.t\.checkpoint=',
    ):
        resolve_trained_checkpoint(
            str(tmp_path / 'work_dirs' / 'teacher' / 'best_mIoU.pth'),
            'teacher "t"',
            'model.teachers.t.checkpoint',
        )
    with pytest.raises(FileNotFoundError, match='holds no checkpoint'):
        resolve_trained_checkpoint(str(tmp_path))


def test_distiller_loads_its_teacher_from_a_work_dir(tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'models', 'distill'))
    from distill_helpers import student_cfg, teacher_cfg
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(teacher_cfg())
        work = tmp_path / 'work_dirs' / 'teacher'
        work.mkdir(parents=True)
        torch.save({'state_dict': teacher.state_dict()}, work / 'best_mIoU_iter_8.pth')
        d = MODELS.build(
            dict(
                type='DistillSegmentor',
                student=student_cfg(),
                teachers=dict(t=dict(config=teacher_cfg(), checkpoint=str(work))),
            )
        )
        assert d.teacher_specs['t']['checkpoint'] == str(work / 'best_mIoU_iter_8.pth')
        assert all(
            torch.equal(v, teacher.state_dict()[k]) for k, v in d.teachers['t'].state_dict().items()
        )
        with pytest.raises(
            FileNotFoundError, match=r'--cfg-options model\.teachers\.t\.checkpoint='
        ):
            MODELS.build(
                dict(
                    type='DistillSegmentor',
                    student=student_cfg(),
                    teachers=dict(t=dict(config=teacher_cfg(), checkpoint=str(tmp_path / 'nope'))),
                )
            )
