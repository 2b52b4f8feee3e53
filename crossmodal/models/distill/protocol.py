"""What a distillation loss or connector may declare, and the engine honours for any of them.

The engine (:class:`~crossmodal.models.distill.DistillSegmentor`) calls every loss as
``loss(student_feat, teacher_feat, gt=gt, **extra)`` and knows no method. A loss (or connector)
asks for more through these attributes, all optional:

``requires_labels = True``
    the loss needs ``gt`` (refused in an unlabelled stage, ``with_label=False``).
``accepts_ignore_mask = True``
    ``gt`` may be a bool (B, H, W) ignore mask (True = ignored) instead of train ids: the loss uses
    labels only to skip void pixels. In a batch that mixes labelled and unlabelled samples
    (:mod:`crossmodal.datasets.mixed_labels`) such a loss gets a mask in which every pixel of an
    unlabelled sample is valid; a loss that needs the train ids gets them, void on the unlabelled
    samples (it learns from the labelled ones only); any other loss is refused on a mixed batch.
``needs = ('<input name>', ...)``
    extra keyword inputs, each computed by the :class:`LossInput` registered under that name
    (:func:`register_loss_input`; e.g. GKD's ``'masked_student'``: the student's tap on a
    patch-masked copy of its input, in :mod:`crossmodal.models.methods.gkd.masked_student`). A
    ``LossInput`` with a ``spec_key`` takes its options from that key of the loss spec (GKD:
    ``masker=dict(patch_size=32)``). A loss may make ``needs`` a property (GKD: only when its
    masked branch is on). A ``LossInput`` that is also an ``nn.Module`` (GKD's masked student
    with a learned mask token) is registered as ``loss_inputs.<loss name>.<input name>`` of the
    distiller: the optimiser trains its parameters and checkpoints hold them; export drops them.
``update(loss_value, step, total_steps)``
    a stateful loss (TAID): called once per training step, after the losses are parsed, with the
    value it returned (detached), the next step's index and the run's total steps (the loss's
    ``total_steps`` attribute, else the runner's ``max_iters``). Keep the state in buffers of the
    loss so that checkpoints save and restore it.
``log_vars() -> {name: float}``
    values logged as ``distill.<loss name>.<name>`` after every ``update`` (TAID: ``t``).
``needs_teacher = True`` (connectors)
    the connector is called as ``connector(student_feat, teacher_feat)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Type

import torch

__all__ = [
    'LossInput',
    'DistillStep',
    'LOSS_INPUTS',
    'register_loss_input',
    'build_loss_inputs',
    'loss_input_spec_keys',
]

LOSS_INPUTS: Dict[str, Type['LossInput']] = {}


@dataclass
class DistillStep:
    """One training step as a :class:`LossInput` sees it."""

    model: Any  # the DistillSegmentor (student, student_taps, teachers, ...)
    student_input: torch.Tensor  # (B, C, H, W), in the student's normalisation
    gt: Optional[torch.Tensor]
    iter: int
    cache: Dict[Any, Any] = field(default_factory=dict)  # per-step memo shared by all losses


class LossInput:
    """An extra input of a distillation loss (see the module docstring).

    Subclasses set ``name`` (what a loss lists in ``needs``) and optionally ``spec_key`` (the loss
    spec key holding this input's options, passed to ``__init__``), and implement ``__call__``,
    which returns the keyword arguments added to the loss call.
    """

    name: str = ''
    spec_key: Optional[str] = None

    def __init__(self, options: Optional[dict] = None) -> None:
        self.options = dict(options or {})

    def __call__(self, step: DistillStep, spec: dict) -> Dict[str, Any]:
        raise NotImplementedError


def register_loss_input(cls: Type[LossInput]) -> Type[LossInput]:
    """Class decorator: make ``cls`` the provider of ``cls.name``."""
    if not cls.name:
        raise ValueError(f'{cls.__name__}: a LossInput needs a name')
    if LOSS_INPUTS.get(cls.name, cls) is not cls:
        raise ValueError(
            f'loss input {cls.name!r} is already provided by {LOSS_INPUTS[cls.name].__name__}'
        )
    LOSS_INPUTS[cls.name] = cls
    return cls


def loss_input_spec_keys():
    """The loss-spec keys the registered inputs read (popped before the loss is built)."""
    return tuple(c.spec_key for c in LOSS_INPUTS.values() if c.spec_key)


def build_loss_inputs(module, options: Dict[str, Any], where: str) -> Dict[str, LossInput]:
    """``{name: LossInput}`` for everything ``module.needs``; unknown name -> ``ValueError``."""
    out = {}
    for need in tuple(getattr(module, 'needs', ()) or ()):
        cls = LOSS_INPUTS.get(need)
        if cls is None:
            raise ValueError(
                f'{where} needs the input {need!r}, which nothing provides; known '
                f'inputs are {sorted(LOSS_INPUTS)} (is the method package imported?)'
            )
        out[need] = cls(options.get(cls.spec_key) if cls.spec_key else None)
    return out
