"""State dicts of checkpoints: unwrap, strip / select / add a prefix, compare with a model.

The one place for what every loader, exporter and recipe step did on its own (a DDP ``module.``
prefix, ``student.`` of a distiller, ``models.<name>.`` of CroDiNo-KD, ...):

* :func:`load` reads a path (``weights_only``, :func:`crossmodal.compat.load_checkpoint_file`) and
  passes a loaded checkpoint through;
* :func:`state_dict_of` unwraps ``{'state_dict': ...}`` (or a bare state dict) and strips a DDP
  ``module.`` prefix; :func:`state_dict_and_meta` also returns ``meta`` and refuses a bare dict
  that holds anything but tensors;
* :func:`strip_module_prefix`, :func:`select_prefix` (keep the keys under a prefix, without it),
  :func:`split_prefix` (the same plus the dropped key groups), :func:`add_prefix`;
* :func:`state_dict_differences` / :func:`format_differences`: missing, unexpected and
  shape-mismatched keys of a state dict against a model's own.

What a checkpoint *is* (distiller, student, ...) is :mod:`crossmodal.utils.checkpoint_kind`; which
file a work dir names is :mod:`crossmodal.utils.checkpoint_paths`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

__all__ = [
    'DDP_PREFIX',
    'load',
    'state_dict_of',
    'state_dict_and_meta',
    'strip_module_prefix',
    'select_prefix',
    'split_prefix',
    'add_prefix',
    'top_level_groups',
    'state_dict_differences',
    'format_differences',
    'matches',
]

DDP_PREFIX = 'module.'


def load(ckpt: Union[str, Mapping]) -> Any:
    """A loaded checkpoint: ``ckpt`` itself, or the file it names (read with ``weights_only``)."""
    if isinstance(ckpt, str):
        from crossmodal.compat import load_checkpoint_file

        return load_checkpoint_file(ckpt)
    return ckpt


def strip_module_prefix(state_dict: Mapping[str, Any]) -> Dict[str, Any]:
    """``state_dict`` without the DDP ``module.`` prefix (removed only when *every* key has it)."""
    if state_dict and all(k.startswith(DDP_PREFIX) for k in state_dict):
        return {k[len(DDP_PREFIX) :]: v for k, v in state_dict.items()}
    return dict(state_dict)


def state_dict_of(
    ckpt: Any, where: str = 'the checkpoint', error: type = ValueError
) -> Dict[str, Any]:
    """The state dict of an mmengine checkpoint (``{'state_dict': ...}``) or of a bare one, without
    a DDP ``module.`` prefix (``ckpt`` is loaded: see :func:`load`). Raises ``error`` when it holds
    none."""
    sd = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict):
        raise error(f'{where}: holds no state_dict (got {type(ckpt).__name__})')
    return strip_module_prefix(sd)


def state_dict_and_meta(ckpt: Any, where: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``(state_dict, meta)`` of an mmengine checkpoint dict, or ``(ckpt, {})`` for a bare state
    dict (every value a tensor); ``ValueError`` otherwise. The DDP prefix is left as it is."""
    if not isinstance(ckpt, dict):
        raise ValueError(f'{where}: expected a checkpoint dict, got {type(ckpt).__name__}')
    if 'state_dict' in ckpt:
        return dict(ckpt['state_dict']), dict(ckpt.get('meta') or {})
    if all(hasattr(v, 'shape') for v in ckpt.values()):
        return dict(ckpt), {}
    raise ValueError(f'{where}: no "state_dict" in the checkpoint (keys: {sorted(ckpt)[:10]})')


def select_prefix(state_dict: Mapping[str, Any], prefix: str) -> Dict[str, Any]:
    """``{key without prefix: value}`` for the keys starting with ``prefix`` (may be empty)."""
    return {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}


def top_level_groups(keys) -> List[str]:
    """Sorted first dotted components of ``keys`` (``'teachers'``, ``'student'``, ...)."""
    return sorted({k.split('.')[0] for k in keys})


def split_prefix(state_dict: Mapping[str, Any], prefix: str) -> Tuple[Dict[str, Any], List[str]]:
    """(:func:`select_prefix`, the top-level groups of the keys dropped because they lack it)."""
    return (
        select_prefix(state_dict, prefix),
        top_level_groups(k for k in state_dict if not k.startswith(prefix)),
    )


def add_prefix(state_dict: Mapping[str, Any], prefix: str) -> Dict[str, Any]:
    """``{prefix + key: value}``."""
    return {prefix + k: v for k, v in state_dict.items()}


def state_dict_differences(
    own: Mapping[str, Any], loaded: Mapping[str, Any]
) -> Tuple[List[str], List[str], List[str]]:
    """Sorted key lists (missing from ``loaded``, unexpected in it, shape mismatches) vs ``own``
    (a model's ``state_dict()``). Values without a ``shape`` are never a shape mismatch."""
    missing = sorted(k for k in own if k not in loaded)
    unexpected = sorted(k for k in loaded if k not in own)
    shape = sorted(
        k
        for k in own
        if k in loaded
        and hasattr(loaded[k], 'shape')
        and tuple(loaded[k].shape) != tuple(own[k].shape)
    )
    return missing, unexpected, shape


def format_differences(
    missing: List[str], unexpected: List[str], shape: List[str], n: int = 8
) -> str:
    """``'missing keys 2 [...]; unexpected keys 0 []; shape mismatches 1 [...]'``."""

    def show(keys: List[str]) -> str:
        return f'{len(keys)} {keys[:n]}{" ..." if len(keys) > n else ""}'

    return (
        f'missing keys {show(missing)}; unexpected keys {show(unexpected)}; '
        f'shape mismatches {show(shape)}'
    )


def matches(own: Mapping[str, Any], loaded: Mapping[str, Any]) -> Optional[str]:
    """None when ``loaded`` fits ``own`` exactly, else :func:`format_differences`."""
    diff = state_dict_differences(own, loaded)
    return format_differences(*diff) if any(diff) else None
