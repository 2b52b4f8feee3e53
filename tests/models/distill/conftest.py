"""Fixtures of the distillation tests (helpers in distill_helpers.py)."""

import copy

import pytest
import torch

from distill_helpers import student_cfg, teacher_cfg


@pytest.fixture
def tiny_cfgs():
    return copy.deepcopy(student_cfg()), copy.deepcopy(teacher_cfg())


@pytest.fixture
def teacher_ckpt(tmp_path):
    """A random-init teacher checkpoint matching teacher_cfg()."""
    from mmseg.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmseg'):
        t = MODELS.build(teacher_cfg())
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': t.state_dict(), 'meta': {}}, str(path))
    return str(path)
