"""Compatibility layer for the pinned stack (torch 2.13, mmengine 0.10.7, mmcv-lite 2.1.0,
mmseg 1.2.2).

Imported first by :mod:`crossmodal` (before anything imports :mod:`mmseg`). It does three things,
each tested in ``tests/test_compat.py``:

1. **mmcv.ops stand-in.** mmcv-lite ships no compiled ``mmcv._ext``, yet mmseg 1.2.2 imports
   ``mmcv.ops`` unguarded (``point_sample``, ``sigmoid_focal_loss``, ...). When the real ops cannot
   be imported we install a small pure-PyTorch module under ``sys.modules['mmcv.ops']``. It
   implements :func:`point_sample` (bilinear ``grid_sample``) and defines every other name mmseg
   imports at import time as a placeholder that raises :class:`MissingCompiledOpError` naming the
   op and telling the user to install full ``mmcv``. If full mmcv is installed, nothing is patched.
2. **mmseg's mmcv version assert.** mmseg 1.2.2 asserts ``2.0.0rc4 <= mmcv < 2.2.0``; mmcv-lite
   2.1.0 passes it. Nothing is spoofed: a wrong mmcv fails loudly at ``import mmseg``.
3. **Safe checkpoint loading on torch >= 2.6.** ``torch.load`` defaults to ``weights_only=True``.
   mmengine 0.10.7 checkpoints hold a few non-tensor types (``HistoryBuffer`` in the message hub,
   numpy scalars/arrays/dtypes in logged metrics, ``ConfigDict`` in meta). We allow-list exactly
   those with :func:`torch.serialization.add_safe_globals`; ``weights_only`` is never switched off,
   so a checkpoint carrying a code-executing pickle is still refused. mmengine's own loader for
   local files (``load_from``, ``--resume``, ``Pretrained`` init) is routed through
   :func:`load_checkpoint_file`, whose error on a refused type explains why ``weights_only=False``
   must not be used (torch's message suggests it) and how to re-save a trusted file as tensors.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
import warnings
from typing import Any, List

import torch
import torch.nn.functional as F

__all__ = [
    'MissingCompiledOpError',
    'point_sample',
    'install_mmcv_ops_standin',
    'safe_checkpoint_globals',
    'install_safe_globals',
    'load_checkpoint_file',
    'apply_all',
]


class MissingCompiledOpError(RuntimeError):
    """Raised when code asks for a compiled mmcv op that the pure-PyTorch stand-in lacks."""


def _denormalize(grid: torch.Tensor) -> torch.Tensor:
    return grid * 2.0 - 1.0


def point_sample(
    input: torch.Tensor, points: torch.Tensor, align_corners: bool = False, **kwargs: Any
) -> torch.Tensor:
    """Sample ``input`` at normalised ``points`` (same contract as ``mmcv.ops.point_sample``).

    Args:
        input: (N, C, H, W) feature map.
        points: (N, P, 2) or (N, Hgrid, Wgrid, 2) point coordinates in [0, 1] x [0, 1], (x, y).
        align_corners: passed to :func:`torch.nn.functional.grid_sample`.

    Returns:
        (N, C, P) or (N, C, Hgrid, Wgrid) sampled features.
    """
    add_dim = False
    if points.dim() == 3:
        add_dim = True
        points = points.unsqueeze(2)
    out = F.grid_sample(input, _denormalize(points), align_corners=align_corners, **kwargs)
    if add_dim:
        out = out.squeeze(3)
    return out


# Every name mmseg 1.2.2 imports from mmcv.ops at import time (models/, utils/, losses/).
_PLACEHOLDER_OPS = (
    'sigmoid_focal_loss',
    'CrissCrossAttention',
    'PSAMask',
    'DeformConv2d',
    'ModulatedDeformConv2d',
    'DeformConv2dPack',
    'ModulatedDeformConv2dPack',
    'MultiScaleDeformableAttention',
    'batched_nms',
    'nms',
    'roi_align',
    'RoIAlign',
    'SyncBatchNorm',
    'CARAFEPack',
    'Conv2dAdaptivePadding',
)


def _make_placeholder(name: str):
    msg = (
        f"mmcv.ops.{name} needs the compiled ops of full mmcv, but only mmcv-lite is installed. "
        f"crossmodal provides pure-PyTorch stand-ins for point_sample only. Install full mmcv "
        f"(`pip install mmcv==2.1.0`, a long C++ build on CPU) to use {name}."
    )

    def _raise(*args: Any, **kwargs: Any):
        raise MissingCompiledOpError(msg)

    # Class-like names must be subclassable/instantiable placeholders (mmseg subclasses some).
    if name[0].isupper():
        return type(name, (torch.nn.Module,), {'__init__': _raise, '__doc__': msg})
    _raise.__name__ = name
    _raise.__doc__ = msg
    return _raise


def _real_mmcv_ops_available() -> bool:
    if 'mmcv.ops' in sys.modules:
        return not getattr(sys.modules['mmcv.ops'], '_crossmodal_standin', False)
    try:
        importlib.import_module('mmcv._ext')
    except Exception:  # ImportError, or a broken/ABI-mismatched extension
        return False
    return True


def install_mmcv_ops_standin(force: bool = False) -> bool:
    """Install the pure-PyTorch ``mmcv.ops`` if the compiled ops are missing.

    Returns True when the stand-in is (now) active, False when the real ops are used.
    """
    existing = sys.modules.get('mmcv.ops')
    if existing is not None and getattr(existing, '_crossmodal_standin', False):
        return True
    if not force and _real_mmcv_ops_available():
        return False
    import mmcv  # noqa: F401  (the parent package must exist; mmcv-lite provides it)

    mod = types.ModuleType('mmcv.ops')
    mod.__doc__ = 'crossmodal pure-PyTorch stand-in for mmcv.ops (mmcv-lite has no compiled ops).'
    mod._crossmodal_standin = True
    mod.point_sample = point_sample
    for name in _PLACEHOLDER_OPS:
        setattr(mod, name, _make_placeholder(name))

    def __getattr__(name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        raise MissingCompiledOpError(
            f'mmcv.ops.{name} is not available: only mmcv-lite is installed and crossmodal\'s '
            f'stand-in provides point_sample only. Install full mmcv to use {name}.'
        )

    mod.__getattr__ = __getattr__
    sys.modules['mmcv.ops'] = mod
    import mmcv as _mmcv

    _mmcv.ops = mod
    return True


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Restricted stand-in for ``builtins.getattr`` during checkpoint loading.

    A pickled ``HistoryBuffer`` (protocol 2) refers to its statistics functions as
    ``getattr(HistoryBuffer, 'mean')``. Allow-listing the real ``getattr`` would let a checkpoint
    fetch any attribute of any allow-listed object; this one resolves only those statistics.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise RuntimeError(f'checkpoint asks for getattr({obj!r}, {name!r}), which is not allowed')


def safe_checkpoint_globals() -> List[Any]:
    """The exact non-tensor types an mmengine 0.10.7 checkpoint may hold.

    - ``HistoryBuffer``: the message hub's log buffers (every Runner checkpoint).
    - numpy array reconstruction, ``ndarray``, ``dtype`` and the concrete dtype classes, numpy
      scalars: metrics (IoUMetric returns ``np.float32``) and buffers in the message hub.
    - ``ConfigDict``: configs stored in ``meta``.
    - ``builtins.getattr``, mapped to :func:`_history_buffer_getattr`, which only resolves the
      ``HistoryBuffer`` statistics methods a pickled buffer refers to.
    """
    import numpy as np
    from mmengine.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer

    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore
    allowed: List[Any] = [
        HistoryBuffer,
        ConfigDict,
        np.ndarray,
        np.dtype,
        _reconstruct,
        scalar,
        (_history_buffer_getattr, 'builtins.getattr'),
    ]
    for name in dir(np.dtypes):
        obj = getattr(np.dtypes, name)
        if isinstance(obj, type) and issubclass(obj, np.dtype):
            allowed.append(obj)
    return allowed


def install_safe_globals() -> None:
    """Allow-list the mmengine checkpoint types for ``torch.load(weights_only=True)``."""
    torch.serialization.add_safe_globals(safe_checkpoint_globals())


def refused_pickle_message(path: str, error: BaseException) -> str:
    """Our explanation of a checkpoint refused by ``torch.load(weights_only=True)``.

    torch's own message suggests re-running with ``weights_only=False``; that unpickles the file
    with full Python, i.e. runs whatever code the file carries. We never do that and do not
    suggest it: the message names the refused type and how to turn a *trusted* checkpoint into
    one that holds tensors only.
    """
    text = str(error)
    found = re.search(r'GLOBAL (\S+) was not an allowed global', text)
    blocked = re.search(r'whose module (\S+) is blocked', text)
    if found:
        what = f'a pickled reference to `{found.group(1)}`'
    elif blocked:
        what = f'a pickled object from the blocked module `{blocked.group(1)}`'
    else:
        what = 'a pickled object that weights_only loading does not allow'
    return (
        f'refusing to load checkpoint {path}: it holds {what}, which is outside the allow-list of '
        'crossmodal.compat.safe_checkpoint_globals(). Do NOT load it with weights_only=False: that '
        f'unpickles the file with full Python and runs any code stored in it (a checkpoint from '
        f'an untrusted source can take over your machine). If the file is yours and you trust it, '
        f'convert it once, in the environment that wrote it, into a checkpoint of plain tensors:\n'
        f'    ckpt = torch.load(src, weights_only=False)  # trusted file only\n'
        f'    sd = ckpt.get("state_dict", ckpt)\n'
        '    torch.save({"state_dict": {k: v for k, v in sd.items() '
        'if isinstance(v, torch.Tensor)}}, dst)\n'
        'then use dst (as load_from or a model checkpoint; it holds no optimizer state, so it '
        'cannot be used with --resume). If the refused type is a legitimate part of every '
        'mmengine checkpoint, it belongs in safe_checkpoint_globals(): report it. '
        f'(torch: {_weights_only_reason(text)})'
    )


def _weights_only_reason(text: str) -> str:
    """The unpickler's own reason, without torch's advice to switch weights_only off."""
    found = re.search(
        r'(Unsupported global: GLOBAL \S+ was not an allowed global by default\.)', text
    )
    if found:
        return found.group(1)
    for line in text.splitlines():
        line = line.strip()
        if (
            line
            and 'weights_only' not in line
            and not line.startswith(('Weights only load failed', 'Check the documentation'))
        ):
            return line
    return 'weights-only unpickling failed'


def load_checkpoint_file(path: str, map_location: Any = 'cpu', mmap: bool = False) -> Any:
    """Load a checkpoint with ``weights_only=True`` (always) and the mmengine allow-list.

    ``mmap=True`` maps the tensors instead of reading them (cheap look at ``meta``).

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file is not a loadable checkpoint (corrupt, truncated) or holds a type
            outside the allow-list (e.g. a pickle that would execute code); the message names the
            file and, for a refused type, explains why weights_only is never switched off
            (:func:`refused_pickle_message`).
    """
    import os
    import pickle

    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    # add_safe_globals, not the safe_globals() context manager: on torch 2.13 leaving the
    # context clears the process-wide allow-list that mmengine's own loader relies on.
    install_safe_globals()
    try:
        if mmap:
            return torch.load(path, map_location=map_location, weights_only=True, mmap=True)
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if 'weights_only' in str(e) or 'GLOBAL' in str(e):
            # from None: torch's chained message would repeat its weights_only=False advice
            raise RuntimeError(refused_pickle_message(path, e)) from None
        raise RuntimeError(
            f'refusing to load checkpoint {path}: it is corrupt or not a checkpoint. '
            f'Original error: {type(e).__name__}: {e}'
        ) from e
    except Exception as e:  # RuntimeError (corrupt or truncated zip), EOFError, ...
        raise RuntimeError(
            f'refusing to load checkpoint {path}: it is corrupt, truncated or not a checkpoint '
            f'(weights_only=True, allow-list crossmodal.compat.safe_checkpoint_globals()). '
            f'Original error: {type(e).__name__}: {e}'
        ) from e


def _load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's loader for local paths (``load_from``, ``--resume``, ``init_cfg`` Pretrained),
    replaced by :func:`load_checkpoint_file` so every checkpoint goes through one safe loader."""
    import os

    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_file(filename, map_location=map_location)


def install_mmengine_loader() -> None:
    """Route mmengine's local-file checkpoint loading (``CheckpointLoader``, scheme ``''``)
    through :func:`load_checkpoint_file`."""
    from mmengine.runner.checkpoint import CheckpointLoader

    if CheckpointLoader._schemes.get('') is not _load_from_local:
        CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)


def apply_all() -> None:
    if install_mmcv_ops_standin():
        # mmcv's transformer bricks warn on every import that this compiled op is missing; the
        # stand-in already raises a clear error if anything actually uses it.
        warnings.filterwarnings(
            'ignore', message='Fail to import ``MultiScaleDeformableAttention``'
        )
    install_safe_globals()
    install_mmengine_loader()


apply_all()
