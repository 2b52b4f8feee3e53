"""Auto-resume's choice of checkpoint, and the hooks every config gets (fast, no training)."""

import os

import pytest
import torch
from mmengine.config import Config

from crossmodal.engine.finite_loss_hook import FiniteLossHook, sample_names
from crossmodal.engine.safe_checkpoint import find_resume_checkpoint, finished_run_message
from crossmodal.utils.runner_setup import install_reliability_hooks, load_run_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ckpt(path, it):
    torch.save({'state_dict': {'w': torch.ones(2) * it}, 'meta': {'iter': it, 'epoch': 0}}, path)
    return str(path)


def _truncate(path):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[: len(data) // 2])


def test_auto_resume_falls_back_from_a_truncated_last_checkpoint(tmp_path):
    import logging

    records = []
    logger = logging.getLogger('test_auto_resume')
    logger.setLevel(logging.INFO)
    handler = logging.Handler()
    handler.emit = lambda r: records.append(r.getMessage())
    logger.addHandler(handler)
    _ckpt(tmp_path / 'iter_2.pth', 2)
    _ckpt(tmp_path / 'iter_4.pth', 4)
    _truncate(tmp_path / 'iter_4.pth')
    _ckpt(tmp_path / 'iter_6.pth.tmp', 6)  # a complete-looking temp file is never a candidate
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    got = find_resume_checkpoint(str(tmp_path), logger=logger)
    assert got == str(tmp_path / 'iter_2.pth')
    log = ' '.join(records)
    assert 'iter_4.pth cannot be resumed from' in log and 'newest complete checkpoint' in log


def test_auto_resume_uses_last_checkpoint_when_it_loads(tmp_path):
    _ckpt(tmp_path / 'iter_2.pth', 2)
    _ckpt(tmp_path / 'iter_4.pth', 4)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
    os.remove(tmp_path / 'last_checkpoint')  # no marker: the newest complete file
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')


def test_auto_resume_without_any_complete_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) is None  # empty work dir: from scratch
    _ckpt(tmp_path / 'iter_2.pth', 2)
    _truncate(tmp_path / 'iter_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    with pytest.raises(RuntimeError, match='no complete checkpoint to resume from'):
        find_resume_checkpoint(str(tmp_path))


def test_finished_run_message(tmp_path):
    p = _ckpt(tmp_path / 'iter_4.pth', 4)
    assert 'the run is finished' in finished_run_message(p, {'max_iters': 4})
    assert finished_run_message(p, {'max_iters': 6}) is None


def test_every_config_gets_the_reliability_hooks(tmp_path):
    cfg = Config(
        dict(
            custom_hooks=[dict(type='RNGStateHook')],
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2)),
        )
    )
    install_reliability_hooks(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == ['RNGStateHook', 'FiniteLossHook']
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
    own = Config(dict(custom_hooks=[dict(type='FiniteLossHook', action='skip')]))
    install_reliability_hooks(own)
    assert own.custom_hooks == [
        dict(type='FiniteLossHook', action='skip')
    ]  # the config's own is kept
    # a distillation config that overrides custom_hooks, loaded as tools/train.py loads it
    path = os.path.join(
        ROOT, 'configs', 'distill', 'cwd', 'cwd_segformer_mit-t_600it_synthetic-rgbt-128x160.py'
    )
    cfg = load_run_config(path, work_dir=str(tmp_path))
    assert 'FiniteLossHook' in [h['type'] for h in cfg.custom_hooks]
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'


def test_finite_loss_hook_options_and_sample_names():
    with pytest.raises(ValueError, match="'raise' or 'skip'"):
        FiniteLossHook(action='ignore')
    from mmseg.structures import SegDataSample

    s = SegDataSample(
        metainfo=dict(
            stem='00006', modality_paths={'rgb': 'RGB/00006.png', 'thermal': 'Thermal/00006.npy'}
        )
    )
    assert sample_names({'data_samples': [s]}) == ['00006 (RGB/00006.png, Thermal/00006.npy)']
