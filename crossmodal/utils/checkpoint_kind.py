"""What a checkpoint holds, and strict loading that says what to do when it does not fit.

mmengine's ``load_from`` loads with ``strict=False``: a distiller's checkpoint given to a student
config loads *nothing* (every key is unexpected), the model keeps its random initialisation, and
``tools/test.py`` scores it (one warning deep in the log). Evaluation, export and inference
therefore load through :func:`check_checkpoint_matches`, which
raises :class:`CheckpointMismatchError` naming the checkpoint, the config, the keys that differ,
what the checkpoint looks like (:func:`describe_checkpoint`) and which config / option / tool to use
instead.

Checkpoint kinds, recognised from the state-dict keys (a DDP ``module.`` prefix is ignored):

* ``distiller``: ``DistillSegmentor`` (and FSKD): keys under ``student.`` and ``teachers.`` /
  ``teacher.``;
* ``crodino``: ``CroDiNoKD``: co-trained models under ``models.<name>.``;
* ``rtfdnet``: ``RTFDNet``: ``backbones.<modality>.`` + per-stream ``heads.<modality>.``;
* ``multimodal``: a multimodal teacher (``MultiModalEncoderDecoder``): ``backbones.<modality>.``;
* ``student``: a plain single-modality mmseg ``EncoderDecoder``: ``backbone.`` + ``decode_head.``;
* ``unknown``: anything else (its top-level key groups are listed).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .checkpoints import state_dict_differences, strip_module_prefix
from .checkpoints import state_dict_of as _state_dict_of

__all__ = [
    'CheckpointMismatchError',
    'checkpoint_kind',
    'describe_checkpoint',
    'suggestion',
    'state_dict_of',
    'check_checkpoint_matches',
    'load_checkpoint_strictly',
    'build_runner_and_load',
]

TOOLS = ('test', 'export', 'infer')


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model its config builds."""


def state_dict_of(ckpt: Any, where: str = 'the checkpoint') -> Dict[str, Any]:
    """The state dict of an mmengine checkpoint (``{'state_dict': ...}``) or of a bare one
    (:func:`crossmodal.utils.checkpoints.state_dict_of`,
    raising :class:`CheckpointMismatchError`)."""
    return _state_dict_of(ckpt, where, error=CheckpointMismatchError)


def _groups(state_dict: Dict[str, Any], prefix: str = '') -> List[str]:
    """Sorted names right after ``prefix`` (``prefix=''``: the top-level key groups)."""
    return sorted({k[len(prefix) :].split('.')[0] for k in state_dict if k.startswith(prefix)})


def checkpoint_kind(state_dict: Dict[str, Any]) -> str:
    """One of ``distiller``, ``crodino``, ``rtfdnet``, ``multimodal``, ``student``, ``unknown``."""
    top = set(_groups(strip_module_prefix(state_dict)))
    if 'student' in top:
        return 'distiller'
    if 'models' in top:
        return 'crodino'
    if 'backbones' in top and 'heads' in top:
        return 'rtfdnet'
    if 'backbones' in top:
        return 'multimodal'
    if 'backbone' in top and 'decode_head' in top:
        return 'student'
    return 'unknown'


def describe_checkpoint(state_dict: Dict[str, Any]) -> str:
    """A phrase saying what ``state_dict`` looks like, e.g. ``a distiller's checkpoint
    (DistillSegmentor: keys under `student.` and `teachers.`)``."""
    sd = strip_module_prefix(state_dict)
    kind = checkpoint_kind(sd)
    top = _groups(sd)
    if kind == 'distiller':
        teach = [g for g in ('teachers', 'teacher') if g in top]
        others = [g for g in top if g not in ('student', *teach)]
        t = ' and ' + ' and '.join(f'`{g}.`' for g in teach) if teach else ''
        names = _groups(sd, 'teachers.')
        t_names = f' (teachers {names})' if names else ''
        rest = f', plus {others}' if others else ''
        return (
            f"a distiller's checkpoint (DistillSegmentor: keys under `student.`{t}{t_names}{rest})"
        )
    if kind == 'crodino':
        return (
            f"a CroDiNo-KD checkpoint (co-trained models under `models.<name>.`: "
            f"{_groups(sd, 'models.')})"
        )
    if kind == 'rtfdnet':
        return (
            f"an RTFDNet checkpoint (streams under `backbones.<modality>.` and "
            f"`heads.<modality>.`: {_groups(sd, 'backbones.')})"
        )
    if kind == 'multimodal':
        return (
            f"a teacher's multimodal model (MultiModalEncoderDecoder: backbones under "
            f"`backbones.<modality>.` for {_groups(sd, 'backbones.')})"
        )
    if kind == 'student':
        return (
            'a plain single-modality student (mmseg EncoderDecoder: keys under `backbone.` '
            'and `decode_head.`)'
        )
    if not sd:
        return 'an empty state dict'
    return f'a checkpoint with top-level key groups {top}'


def suggestion(kind: str, tool: str = 'test', model_kind: Optional[str] = None) -> str:
    """What to do with a checkpoint of ``kind`` in ``tool`` (``test``, ``export`` or ``infer``)
    when it does not fit the config (which builds a model of ``model_kind``)."""
    if tool not in TOOLS:
        raise ValueError(f'tool must be one of {TOOLS}, got {tool!r}')
    if kind == 'distiller':
        if tool == 'test':
            return (
                'Evaluate it with the distill config it was trained with (tools/test.py '
                '<distill config> <checkpoint>; the distiller predicts with its student), or '
                'extract the student first with `tools/export_student.py <distill config> '
                '<checkpoint> --out DIR`.'
            )
        return (
            'Pass `--student-prefix student.` (Python: student_prefix="student.") with the '
            'student or distill config, or extract the student first with '
            '`tools/export_student.py <distill config> <checkpoint> --out DIR`.'
        )
    if kind in ('rtfdnet', 'crodino'):
        name = 'RTFDNet' if kind == 'rtfdnet' else 'CroDiNo-KD'
        export = (
            f'`tools/export_branch.py <{name} config> <checkpoint> --branch rgb --out-dir '
            f'DIR` writes its RGB model as a plain student (DIR/<name>.py + .pth)'
        )
        if tool == 'test':
            return f'Evaluate it with the {name} config it was trained with, or {export}.'
        return f'Export a student from it first: {export}.'
    if kind == 'multimodal':
        if tool == 'test':
            return 'Evaluate it with the teacher config it was trained with (configs/teachers/).'
        return (
            'Only single-modality students export and run here: distil this teacher into an '
            'RGB student with a config from configs/distill/ and use the distillation '
            'checkpoint with `--student-prefix student.`, or train an RGB-only student '
            '(configs/students/).'
        )
    if kind == 'student':
        if model_kind == 'distiller':
            return (
                'Evaluate a student checkpoint with the student config it was trained with '
                '(configs/students/), not with a distill config.'
            )
        return (
            'Use the student config it was trained with (the backbone/head sizes and the '
            'class count must match).'
        )
    return 'Use the config this checkpoint was trained with.'


def _examples(keys: List[str], n: int = 3) -> str:
    return ', '.join(keys[:n]) + (', ...' if len(keys) > n else '')


def check_checkpoint_matches(
    model: Any,
    state_dict: Dict[str, Any],
    checkpoint_path: str,
    config_path: Optional[str],
    tool: str = 'test',
) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state_dict`` fits ``model`` exactly.

    Exactly: the same keys (no missing, no unexpected) and the same shapes. The message names
    ``checkpoint_path`` and ``config_path``, the differing keys, what the checkpoint looks like and
    what the config builds (:func:`describe_checkpoint`), and what to use instead
    (:func:`suggestion` for ``tool``).
    """
    inner = getattr(model, 'module', model)  # DDP / BaseTTAModel (aug-test) wrappers
    own = inner.state_dict()
    sd = strip_module_prefix(state_dict)
    missing, unexpected, shapes = state_dict_differences(own, sd)
    if not (missing or unexpected or shapes):
        return
    kind, model_kind = checkpoint_kind(sd), checkpoint_kind(own)
    parts = []
    if missing:
        parts.append(
            f'{len(missing)} of the model\'s {len(own)} keys are missing ({_examples(missing)})'
        )
    if unexpected:
        parts.append(
            f'{len(unexpected)} of the checkpoint\'s {len(sd)} keys are unexpected '
            f'({_examples(unexpected)})'
        )
    if shapes:
        parts.append(
            f'{len(shapes)} shapes differ ('
            + ', '.join(
                f'{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}'
                for k in shapes[:3]
            )
            + (', ...' if len(shapes) > 3 else '')
            + ')'
        )
    cfg = config_path or '<config>'
    raise CheckpointMismatchError(
        f'{checkpoint_path}: the checkpoint does not match the model built from {cfg} '
        f'({type(inner).__name__}): ' + '; '.join(parts) + '. '
        f'The checkpoint looks like {describe_checkpoint(sd)}; the config builds '
        f'{describe_checkpoint(own)}. {suggestion(kind, tool, model_kind)} Nothing was loaded '
        f'(checkpoints load strictly).'
    )


def load_checkpoint_strictly(
    runner: Any, checkpoint_path: str, config_path: Optional[str] = None, tool: str = 'test'
) -> dict:
    """Check ``checkpoint_path`` against ``runner.model`` and load it with ``strict=True``.

    The file is read with ``weights_only=True`` (:func:`crossmodal.compat.load_checkpoint_file`);
    a mismatch raises :class:`CheckpointMismatchError` before anything is loaded.
    """
    from crossmodal.compat import load_checkpoint_file

    sd = state_dict_of(load_checkpoint_file(checkpoint_path), checkpoint_path)
    check_checkpoint_matches(runner.model, sd, checkpoint_path, config_path, tool)
    return runner.load_checkpoint(checkpoint_path, strict=True)


def build_runner_and_load(
    cfg: Any, checkpoint: Optional[str] = None, config_path: Optional[str] = None
) -> Tuple[Any, Optional[str]]:
    """A test :class:`mmengine.runner.Runner` from ``cfg`` with ``checkpoint`` (default
    ``cfg.load_from``) loaded strictly instead of mmengine's ``strict=False`` ``load_from``.

    ``cfg`` is not modified. Returns ``(runner, checkpoint)``.
    """
    import copy

    from mmengine.runner import Runner

    checkpoint = checkpoint or cfg.get('load_from', None)
    config_path = config_path or getattr(cfg, 'filename', None)
    c = copy.deepcopy(cfg)
    c.load_from = None
    runner = Runner.from_cfg(c)
    if checkpoint:
        load_checkpoint_strictly(runner, checkpoint, config_path, 'test')
    return runner, checkpoint
