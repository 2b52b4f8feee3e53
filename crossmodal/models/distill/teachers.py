"""Teachers: build from a config, load strictly, freeze, keep in eval mode.

One implementation for every distiller (``DistillSegmentor`` and its subclasses such as
``MSTDistillSegmentor``, and ``FSKDDistiller``):

* :func:`model_config`: a model config from a config path, a full config or a model dict;
* :func:`load_teacher_weights`: the checkpoint a teacher's ``checkpoint`` names (a file, or a work
  dir: its best checkpoint, else the latest; :mod:`crossmodal.utils.checkpoint_paths`) loaded
  **strictly** (:mod:`crossmodal.utils.checkpoints`): any missing / unexpected / shape-mismatched
  key is a :class:`TeacherCheckpointError` listing them, nothing is loaded;
* :func:`build_teacher`: build + load + mark initialised (``init_weights`` never overwrites a
  teacher) [+ freeze];
* :class:`TeacherSet`: the named teachers of a distiller (an ``nn.ModuleDict``, so the state-dict
  keys stay ``teachers.<name>.*``) with their specs (modalities, frozen, loss weight, taps,
  checkpoint) and a ``train`` that keeps frozen teachers in eval mode.
"""

from __future__ import annotations

import copy
import warnings
from typing import Dict, Optional, Tuple, Union

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmseg.registry import MODELS

from crossmodal.utils import checkpoints

TEACHER_SPEC_KEYS = ('config', 'checkpoint', 'modalities', 'frozen', 'loss_weight', 'taps')


class TeacherCheckpointError(ValueError, RuntimeError):
    """A teacher checkpoint does not fit the teacher's config.

    A ``ValueError`` (``DistillSegmentor``'s contract) and a ``RuntimeError`` (``FSKDDistiller``'s,
    which loaded with ``load_state_dict``) so that both callers' handlers keep working.
    """


def model_config(cfg: Union[str, dict, Config], what: str) -> dict:
    """A model config from a config path (its ``model``), a full config or a model dict."""
    if isinstance(cfg, str):
        try:
            cfg = Config.fromfile(cfg)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'{what}: config file not found: {cfg}') from e
        if 'model' not in cfg:
            raise ValueError(f'{what}: config {cfg.filename} has no `model` entry')
        return ConfigDict(copy.deepcopy(cfg.model))
    if isinstance(cfg, Config):
        return ConfigDict(copy.deepcopy(cfg.model))
    if isinstance(cfg, dict):
        # ConfigDict: mmseg segmentors read test_cfg.mode etc. as attributes
        cfg = ConfigDict(copy.deepcopy(cfg))
        return cfg['model'] if 'model' in cfg and 'type' not in cfg else cfg
    raise TypeError(f'{what}: expected a config path or dict, got {type(cfg).__name__}')


def load_teacher_weights(
    teacher: nn.Module, checkpoint: str, name: str, cfg_key: Optional[str] = None
) -> str:
    """Load ``checkpoint`` (a file, or the teacher's work dir: its best checkpoint, else the latest)
    into ``teacher`` strictly; mismatch -> :class:`TeacherCheckpointError` listing the keys, nothing
    there -> ``FileNotFoundError`` naming ``cfg_key``. Returns the file loaded."""
    from crossmodal.utils.checkpoint_paths import resolve_trained_checkpoint

    checkpoint = resolve_trained_checkpoint(checkpoint, f'teacher "{name}"', cfg_key)
    sd = checkpoints.state_dict_of(checkpoints.load(checkpoint), checkpoint)
    diff = checkpoints.matches(teacher.state_dict(), sd)
    if diff:
        raise TeacherCheckpointError(
            f'teacher "{name}": checkpoint {checkpoint} does not match its config '
            f'({type(teacher).__name__}): {diff}'
        )
    teacher.load_state_dict(sd, strict=True)
    return checkpoint


def mark_initialised(model: nn.Module) -> None:
    """mmengine's ``init_weights`` skips ``model`` and all its submodules (loaded weights stay)."""
    for m in model.modules():
        if m is model or hasattr(m, '_is_init'):
            m._is_init = True


def freeze(model: nn.Module) -> None:
    """No gradients, eval mode (call ``model.eval()`` again after every ``train()``)."""
    model.requires_grad_(False)
    model.eval()


def build_teacher(
    config: Union[str, dict, Config],
    checkpoint: Optional[str],
    name: str,
    cfg_key: Optional[str] = None,
    frozen: bool = True,
    warn_random: bool = True,
) -> Tuple[nn.Module, Optional[str]]:
    """Build a teacher from ``config``, load ``checkpoint`` strictly (None: random weights, with a
    warning when ``warn_random``), mark it initialised and freeze it when ``frozen``.

    Returns ``(model, the checkpoint file loaded or None)``.
    """
    model = MODELS.build(model_config(config, f'teacher "{name}"'))
    if checkpoint:
        checkpoint = load_teacher_weights(model, checkpoint, name, cfg_key)
    elif warn_random:
        warnings.warn(f'teacher "{name}" has no checkpoint: it keeps random weights')
    mark_initialised(model)
    if frozen:
        freeze(model)
    return model, checkpoint or None


class TeacherSet(nn.ModuleDict):
    """Named teachers of a distiller and their specs.

    Args:
        teachers: ``{name: dict(config=<path or dict>, checkpoint=<path, work dir or None>,
            modalities=(...), frozen=True, loss_weight=1.0, taps={tap: path})}``.
        cfg_prefix: the config key of ``teachers``, named in errors (``model.teachers``).

    ``specs[name]`` holds ``modalities`` (the spec's, else the model's ``modalities``, else
    ``('rgb',)``), ``frozen``, ``loss_weight``, ``taps`` and ``checkpoint`` (the file loaded).
    """

    def __init__(
        self, teachers: Optional[Dict[str, dict]] = None, cfg_prefix: str = 'model.teachers'
    ) -> None:
        super().__init__()
        self.specs: Dict[str, dict] = {}
        for name, spec in (teachers or {}).items():
            if '.' in name or not name:
                raise ValueError(f'teacher name {name!r} must be non-empty and contain no "."')
            spec = dict(spec)
            unknown = set(spec) - set(TEACHER_SPEC_KEYS)
            if unknown:
                raise ValueError(f'teacher "{name}": unknown keys {sorted(unknown)}')
            if 'config' not in spec:
                raise ValueError(f'teacher "{name}": needs config=<path or dict>')
            frozen = bool(spec.get('frozen', True))
            model, ckpt = build_teacher(
                spec['config'],
                spec.get('checkpoint'),
                name,
                f'{cfg_prefix}.{name}.checkpoint',
                frozen=False,
            )
            declared = tuple(getattr(model, 'modalities', ()) or ())
            modalities = tuple(spec.get('modalities') or declared or ('rgb',))
            if declared and tuple(declared) != modalities:
                raise ValueError(
                    f'teacher "{name}": modalities={modalities} but its config declares {declared}'
                )
            if frozen:
                freeze(model)
            self[name] = model
            self.specs[name] = dict(
                modalities=modalities,
                frozen=frozen,
                loss_weight=float(spec.get('loss_weight', 1.0)),
                taps=dict(spec.get('taps') or {}),
                checkpoint=ckpt,
            )

    def modalities(self, name: str) -> Tuple[str, ...]:
        return self.specs[name]['modalities']

    def taps(self, name: str) -> Dict[str, str]:
        return self.specs[name]['taps']

    def is_frozen(self, name: str) -> bool:
        return self.specs[name]['frozen']

    def train(self, mode: bool = True):
        super().train(mode)
        for name, t in self.items():
            if self.specs[name]['frozen']:
                t.eval()
        return self
