"""crossmodal.compat: the mmcv.ops stand-in and safe checkpoint loading."""

import os
import pickle
import sys

import numpy as np
import pytest
import torch

from crossmodal import compat


def test_mmseg_models_import_with_mmcv_lite():
    import mmseg.models  # noqa: F401  (imports mmcv.ops unguarded)
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    assert 'mmcv.ops' in sys.modules


def test_point_sample_matches_bilinear_by_hand():
    # 1x1x2x2 map [[0, 1], [2, 3]]; with align_corners=True the centre (0.5, 0.5) is the mean.
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    pts = torch.tensor([[[0.5, 0.5], [0.0, 0.0], [1.0, 0.0]]])  # (x, y) in [0, 1]
    out = compat.point_sample(x, pts, align_corners=True)
    assert out.shape == (1, 1, 3)
    assert torch.allclose(out[0, 0], torch.tensor([1.5, 0.0, 1.0]))


def test_standin_is_active_and_placeholders_name_full_mmcv():
    import mmcv.ops

    if not getattr(mmcv.ops, '_crossmodal_standin', False):
        pytest.skip('full mmcv is installed; the stand-in is not used')
    for name in (
        'sigmoid_focal_loss',
        'CrissCrossAttention',
        'PSAMask',
        'DeformConv2d',
        'ModulatedDeformConv2d',
    ):
        assert hasattr(mmcv.ops, name)
    with pytest.raises(compat.MissingCompiledOpError, match='full mmcv'):
        mmcv.ops.sigmoid_focal_loss(torch.zeros(1), torch.zeros(1))
    with pytest.raises(compat.MissingCompiledOpError, match='CrissCrossAttention'):
        mmcv.ops.CrissCrossAttention(8)
    with pytest.raises(compat.MissingCompiledOpError, match='roi_pool'):
        mmcv.ops.roi_pool  # noqa: B018  (an op the stand-in does not define)


def _runner_like_checkpoint():
    from mmengine.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer

    buf = HistoryBuffer()
    buf.update(0.5)
    return {
        'meta': {'cfg': ConfigDict(a=1), 'mIoU': np.float32(42.5), 'seed': 0},
        'state_dict': {'w': torch.ones(2)},
        'message_hub': {
            'log_scalars': {'train/loss': buf},
            'runtime_info': {'arr': np.arange(3.0)},
        },
    }


def test_runner_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(_runner_like_checkpoint(), path)
    ck = compat.load_checkpoint_file(str(path))
    assert float(ck['meta']['mIoU']) == 42.5
    assert ck['message_hub']['log_scalars']['train/loss'].current() == 0.5
    # mmengine's own loader path (plain torch.load, weights_only default on torch >= 2.6)
    from mmengine.runner.checkpoint import CheckpointLoader

    ck2 = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(ck2['state_dict']['w'], torch.ones(2))


class _Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.environ['CROSSMODAL_EVIL_MARKER'],))


def test_code_executing_pickle_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / 'pwned'
    monkeypatch.setenv('CROSSMODAL_EVIL_MARKER', str(marker))
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Evil()}, path, pickle_module=pickle)
    with pytest.raises(RuntimeError, match='evil.pth'):
        compat.load_checkpoint_file(str(path))
    from mmengine.runner.checkpoint import CheckpointLoader

    with pytest.raises(Exception):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists(), 'the pickle payload ran'


def test_missing_and_corrupt_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        compat.load_checkpoint_file(str(tmp_path / 'nope.pth'))
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='bad.pth'):
        compat.load_checkpoint_file(str(bad))


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    import builtins

    from mmengine.logging.history_buffer import HistoryBuffer

    class _GetattrOs:  # fetches a non-statistics attribute through getattr
        def __reduce__(self):
            return (builtins.getattr, (HistoryBuffer, 'register_statistics'))

    path = tmp_path / 'getattr.pth'
    torch.save({'f': _GetattrOs()}, path)
    with pytest.raises(RuntimeError, match='getattr.pth'):
        compat.load_checkpoint_file(str(path))


def test_refused_pickle_error_is_ours_not_torchs_weights_only_false_hint(tmp_path, monkeypatch):
    """Item 3b: the refusal names the file and the refused type, explains why weights_only=False is
    never the answer and how to re-save a trusted file as tensors; torch's hint is not shown,
    neither by load_checkpoint_file nor by mmengine's loader (load_from / --resume / Pretrained)."""
    monkeypatch.setenv('CROSSMODAL_EVIL_MARKER', str(tmp_path / 'pwned'))
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Evil()}, path, pickle_module=pickle)
    from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

    for load in (
        lambda: compat.load_checkpoint_file(str(path)),
        lambda: CheckpointLoader.load_checkpoint(str(path), map_location='cpu'),
        lambda: _load_checkpoint(str(path), map_location='cpu'),
    ):
        with pytest.raises(RuntimeError) as info:
            load()
        msg = str(info.value)
        assert 'evil.pth' in msg and ('posix.system' in msg or 'os.system' in msg), msg
        assert 'Do NOT load it with weights_only=False' in msg and 'runs any code' in msg
        assert 'isinstance(v, torch.Tensor)' in msg  # how to re-save a trusted checkpoint
        assert 'will likely succeed' not in msg and 'add_safe_globals' not in msg
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not (tmp_path / 'pwned').exists()


def test_runner_load_from_goes_through_our_message(tmp_path, monkeypatch):
    """mmengine's Runner.load_checkpoint (the load_from / --resume path) raises our message."""
    monkeypatch.setenv('CROSSMODAL_EVIL_MARKER', str(tmp_path / 'pwned'))
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {}, 'payload': _Evil()}, path, pickle_module=pickle)
    from mmengine.runner import Runner

    class _Stub:  # Runner.load_checkpoint only needs these attributes before loading
        model = torch.nn.Linear(1, 1)
        logger = None

    with pytest.raises(RuntimeError, match='Do NOT load it with weights_only=False'):
        Runner.load_checkpoint(_Stub(), str(path), map_location='cpu')
    assert not (tmp_path / 'pwned').exists()
