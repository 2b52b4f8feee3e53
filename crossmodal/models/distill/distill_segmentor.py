"""``DistillSegmentor``: offline teacher(s) -> student distillation with input routing.

docs/design.md §4: the concepts of mmrazor's ``SingleTeacherDistill`` +
``ConfigurableDistiller`` (recorders by dotted path, connectors, registry losses, ``student.`` /
``distill.`` / ``teacher.`` log prefixes, a student-only exporter), re-implemented for
MMEngine 0.10.7 / mmseg 1.2.2 with what mmrazor never shipped: **input routing** (each model
receives only the modalities it declares, in its own normalisation; mmrazor #67) and **several named
teachers** with their own loss weights (mmrazor #597).

Data flow of one training step (``mode='loss'``)::

    dataloader: {'rgb': uint8, 'thermal': float, ...} (PackMultiModalInputs(stack=False))
      -> data_preprocessor (MultiModalDataPreprocessor: normalise every modality, pad, stack)
      -> route: student  <- cat(student_modalities) in the student's normalisation (B, C, H, W)
                teacher k <- {m: (B, C_m, H, W) for m in teacher k's modalities}, its normalisation
      -> teachers: eval, no_grad, ``_forward`` (logits), taps recorded by forward hooks
      -> student: ``loss()`` (labelled stage; its decode-head losses logged as ``student.*``) or
         ``_forward`` (``with_label=False``), taps recorded with their graph
      -> distillation losses (``distill.<name>``), each ``schedule(iter) * teacher weight * loss``

The routing rules (who normalises what) are in :mod:`crossmodal.models.distill.routing`.
``predict`` / ``_forward`` run the student alone, so val/test report the student's mIoU.

Mixed batches (labelled + unlabelled samples, :mod:`crossmodal.datasets.mixed_labels`): the
student's supervised loss sees the unlabelled samples' all-void labels, so only labelled pixels
train it; each distillation loss gets the ``gt`` of :func:`~.mixed_batches.distill_target` (every
pixel of an unlabelled sample valid); ``batch.labelled`` logs the labelled fraction of the batch.

Loss specs (``distill_losses``), one dict per loss::

    dict(type='KDLoss', tau=1.0, loss_weight=1.0,          # the registry loss and its arguments
         student='logits',                                  # 'logits' or a student tap name
         teacher='rgbt.logits',                             # '<teacher>.logits' or
                                                            # '<teacher>.<tap>'
         connector=None,                                    # a name in ``connectors`` or None
         schedule=dict(kind='linear_warmup', warmup_iters=100),   # LossWeightSchedule kwargs
         name='kd')                                         # log key distill.<name> (default: the
                                                            # loss's loss_name [+ _<teacher> when
                                                            # several]; "loss_" is prepended
                                                            # when missing, since mmengine only
                                                            # back-propagates keys holding "loss")

What a loss may declare beyond ``(student_feat, teacher_feat, gt)`` (``needs``: extra inputs such
as GKD's masked-student pass, with their options under the provider's spec key, e.g. ``masker``;
``update`` / ``log_vars``: per-step state such as TAID's ``t``; ``requires_labels``) is the
protocol of :mod:`crossmodal.models.distill.protocol`; the engine handles it for any loss and
imports no method. Teachers are built, loaded strictly and frozen by
:class:`~crossmodal.models.distill.teachers.TeacherSet`.

Offline distillation (``teacher_cache=<dir>``, docs/teacher_cache.md): the teachers are **not**
built; their specs (config, checkpoint) are checked against the cache's manifest (a different
config or checkpoint is an error saying which hash differs), and a loss on ``'<teacher>.logits'``
gets the batch's cached top-k logits as
:class:`~crossmodal.models.losses.sparse_targets.SparseLogits` (from the data samples'
``teacher_cache_<teacher>``, put there by the ``LoadTeacherCache`` transform and moved through
the sample's geometric augmentation), a loss on a cached tap its cached feature map.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from ..base import ModeDispatchModel, stack_labels
from ..losses.schedules import LossWeightSchedule
from .protocol import DistillStep, build_loss_inputs, loss_input_spec_keys
from .routing import (
    ModalityNorm,
    default_distill_preprocessor,
    renormalize,
    stock_model_input,
    student_norms,
    teacher_norms,
)
from .cached_teachers import cached_teacher_specs, gather_cached_output
from .mixed_batches import distill_target, labelled_flags, padded_area
from .taps import TapRecorder, resolve_module
from .teachers import TeacherSet, load_teacher_weights, model_config  # noqa: F401  (re-exported)

LOGITS_PATH = 'decode_head.conv_seg'
_LOSS_SPEC_KEYS = ('student', 'teacher', 'connector', 'schedule', 'name')


@MODELS.register_module()
class DistillSegmentor(ModeDispatchModel):
    """Teacher(s) -> student distillation for semantic segmentation (see the module docstring).

    Args:
        student: config (path or dict) of a stock mmseg segmentor (e.g. an ``EncoderDecoder``
            SegFormer) that takes a (B, C, H, W) tensor and owns a ``SegDataPreProcessor``.
        teachers: ``{name: dict(config=<path or dict>, checkpoint=<path or None>,
            modalities=('rgb', 'thermal'), frozen=True, loss_weight=1.0, taps={tap: path})}``.
            ``checkpoint=None`` keeps a random teacher (warning; tests/benchmarks only).
            ``loss_weight`` multiplies every distillation loss that uses this teacher.
        student_modalities: modalities fed to the student, concatenated in this order.
        student_taps: ``{tap_name: 'module.path' or 'module.path[i]'}`` on the student;
            ``'logits'`` (``decode_head.conv_seg``) is always available on every model.
        connectors: ``{name: connector cfg}`` (e.g. ``dict(type='ConvConnector', in_channels=..,
            out_channels=..)``), applied to the student side of a loss.
        distill_losses: list of loss specs (module docstring).
        with_label: False = unlabelled stage: no student task loss, losses needing labels refused.
        student_task_loss: compute the student's own decode-head losses when labels exist.
        freeze: student module paths to freeze (no grad, kept in eval mode), e.g. ``['backbone']``
            for GKD stage 2.
        modality_channels: channel counts per modality when not the defaults (rgb 3, depth 1, ...).
        data_preprocessor: the distiller's ``MultiModalDataPreprocessor`` config; None builds the
            default of :func:`~crossmodal.models.distill.routing.default_distill_preprocessor`.
        teacher_cache: a directory written by ``tools/cache_teacher.py``: train from the cached
            teacher outputs, without building or running the teachers (module docstring). Every
            teacher of ``teachers`` must be in the cache with the same config and checkpoint
            (``TeacherCacheMismatch`` otherwise); logit losses must accept sparse teachers
            (``KDLoss``, ``CWDLoss``, ``DKDLoss``: ``sparse_mode``).
        init_cfg: mmengine init config.

    Raises (at construction): ``ValueError`` for a teacher checkpoint that does not match its
    config, different student/teacher class counts in a logit loss, a label-needing loss with
    ``with_label=False``, unknown tap/connector/teacher names; ``KeyError`` for a tap path that does
    not exist (listing the nearest valid names).
    """

    def __init__(
        self,
        student: Union[str, dict],
        teachers: Optional[Dict[str, dict]] = None,
        student_modalities: Sequence[str] = ('rgb',),
        student_taps: Optional[Dict[str, str]] = None,
        connectors: Optional[Dict[str, dict]] = None,
        distill_losses: Optional[List[dict]] = None,
        with_label: bool = True,
        student_task_loss: bool = True,
        freeze: Sequence[str] = (),
        modality_channels: Optional[Dict[str, int]] = None,
        data_preprocessor: Optional[dict] = None,
        teacher_cache: Optional[str] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        # The student is built first so that, for one seed, its initial weights equal those of its
        # no-distillation twin; teachers, connectors and losses are built under a forked RNG.
        # Nested configs (SegDataPreProcessor, ...) resolve in mmseg's scope even without a Runner.
        scope = None if DefaultScope.get_current_instance() is not None else 'mmseg'
        with DefaultScope.overwrite_default_scope(scope):
            student_cfg = model_config(student, 'student')
            student_model = MODELS.build(student_cfg)
            with torch.random.fork_rng(devices=[]):
                cached_specs = None
                if teacher_cache:
                    cached_specs = self._cached_teacher_specs(teacher_cache, teachers or {})
                teacher_set = TeacherSet({} if teacher_cache else (teachers or {}))
                connector_modules = nn.ModuleDict(
                    {k: MODELS.build(copy.deepcopy(dict(v))) for k, v in (connectors or {}).items()}
                )
                # the config's teacher count (none is built from a cache): the same loss names
                # online and cached
                loss_modules, loss_specs = self._build_losses(
                    distill_losses or [], len(teachers or {})
                )

        student_modalities = tuple(student_modalities)
        if not student_modalities:
            raise ValueError('DistillSegmentor: student_modalities must name at least one modality')
        s_dp = getattr(student_model, 'data_preprocessor', None)
        s_norm = student_norms(s_dp, student_modalities, modality_channels)
        t_norms = {
            name: self._teacher_norm_spec(t, teacher_set.modalities(name), modality_channels)
            for name, t in teacher_set.items()
        }
        consumers = [s_norm] + list(t_norms.values())
        if data_preprocessor is None:
            data_preprocessor = default_distill_preprocessor(s_dp, consumers)
        dp = (
            MODELS.build(dict(data_preprocessor))
            if isinstance(data_preprocessor, dict)
            else data_preprocessor
        )
        super().__init__(data_preprocessor=dp, init_cfg=init_cfg)

        self.student_modalities = student_modalities
        self.student = student_model
        self.teachers = teacher_set
        self.connectors = connector_modules
        self.distill_losses = loss_modules
        # loss inputs that own parameters (GKD's learned mask token): trained and checkpointed
        # with the distiller under loss_inputs.<loss name>.<input name>, never exported
        self.loss_inputs = nn.ModuleDict(
            {
                spec['name'].replace('.', '_'): nn.ModuleDict(
                    {k: v for k, v in spec['inputs'].items() if isinstance(v, nn.Module)}
                )
                for spec in loss_specs
                if any(isinstance(v, nn.Module) for v in spec['inputs'].values())
            }
        )
        self.teacher_specs = teacher_set.specs
        self.loss_specs = loss_specs
        self.teacher_cache = str(teacher_cache) if teacher_cache else None
        if cached_specs is not None:
            self.teacher_specs = cached_specs
            if hasattr(dp, 'keep_modalities'):  # no teacher runs: batch the student's inputs only
                dp.keep_modalities = student_modalities
        self.with_label = bool(with_label)
        self.student_task_loss = bool(student_task_loss)
        self.student_channel_flip = bool(getattr(s_dp, 'channel_conversion', False))

        # normalisations: the distiller's pre-processor, the student, each teacher
        self.dist_norm = ModalityNorm(teacher_norms(dp, [m for norms in consumers for m in norms]))
        self.student_norm = ModalityNorm(s_norm)
        self.teacher_norm = nn.ModuleDict({name: ModalityNorm(v) for name, v in t_norms.items()})
        # stock single-modality teachers (e.g. a depth-only SegFormer) take one concatenated tensor
        # in their own SegDataPreProcessor's normalisation, like the student
        self.stock_teachers = {name for name, t in self.teachers.items() if self._is_stock(t)}
        self.teacher_channel_flip = {
            name: bool(getattr(getattr(t, 'data_preprocessor', None), 'channel_conversion', False))
            for name, t in self.teachers.items()
            if name in self.stock_teachers
        }

        # freezing
        self.frozen_student_paths = tuple(freeze)
        for path in self.frozen_student_paths:
            for p in resolve_module(self.student, path, 'student').parameters():
                p.requires_grad_(False)

        # taps (forward hooks)
        s_taps = {'logits': LOGITS_PATH}
        s_taps.update({k: self._strip(v, ('student.',)) for k, v in (student_taps or {}).items()})
        self.student_taps = TapRecorder(self.student, s_taps, 'student')
        self.teacher_taps = {}
        self._cached_step: Dict[tuple, object] = {}
        for name, t in self.teachers.items():
            taps = {'logits': LOGITS_PATH}
            taps.update(
                {
                    k: self._strip(v, (f'{name}.', 'teacher.'))
                    for k, v in self.teachers.taps(name).items()
                }
            )
            self.teacher_taps[name] = TapRecorder(t, taps, f'teacher "{name}"')

        self._validate()
        self._last_loss_values: Dict[str, torch.Tensor] = {}
        self._last_factors: Dict[str, float] = {}
        self._local_step = 0
        self.train(self.training)

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _is_stock(model: nn.Module) -> bool:
        """A stock mmseg segmentor (tensor input), not a multi-modal one declaring
        ``modalities``."""
        return getattr(model, 'modalities', None) is None

    @classmethod
    def _teacher_norm_spec(
        cls, model: nn.Module, modalities, modality_channels
    ) -> Dict[str, tuple]:
        """Per-modality mean/std a teacher expects (its own pre-processor's)."""
        dp = getattr(model, 'data_preprocessor', None)
        if cls._is_stock(model):
            return student_norms(dp, modalities, modality_channels)
        return teacher_norms(dp, modalities)

    @staticmethod
    def _strip(path: str, prefixes) -> str:
        for p in prefixes:
            if path.startswith(p):
                return path[len(p) :]
        return path

    def _build_losses(self, losses: List[dict], num_teachers: int = 1):
        modules, specs = nn.ModuleList(), []
        names = set()
        for i, spec in enumerate(losses):
            spec = dict(spec)
            if 'type' not in spec:
                raise ValueError(f'distill_losses[{i}] has no type')
            meta = {k: spec.pop(k, None) for k in _LOSS_SPEC_KEYS}
            input_options = {k: spec.pop(k) for k in loss_input_spec_keys() if k in spec}
            if meta['student'] is None or meta['teacher'] is None:
                raise ValueError(
                    f'distill_losses[{i}] ({spec["type"]}) needs student=... and '
                    f'teacher=... (e.g. student="logits", teacher="<name>.logits")'
                )
            module = MODELS.build(spec)
            teacher, _, t_tap = str(meta['teacher']).partition('.')
            if not t_tap:
                raise ValueError(
                    f'distill_losses[{i}]: teacher={meta["teacher"]!r} must be '
                    f'"<teacher_name>.logits" or "<teacher_name>.<tap>"'
                )
            name = meta['name']
            if not name:
                short = spec['type'].split('.')[-1].lower()
                short = short[:-4] if short.endswith('loss') else short
                name = getattr(module, 'loss_name', None) or f'loss_{short}'
                if num_teachers > 1:
                    name = f'{name}_{teacher}'
            if 'loss' not in name:  # mmengine only back-propagates keys containing "loss"
                name = f'loss_{name}'
            base, k = name, 1
            while name in names:
                k += 1
                name = f'{base}_{k}'
            names.add(name)
            sched = meta['schedule']
            schedule = (
                sched
                if isinstance(sched, LossWeightSchedule)
                else LossWeightSchedule(**dict(sched))
                if sched
                else None
            )
            inputs = build_loss_inputs(
                module, input_options, f'distill_losses[{i}] ({spec["type"]})'
            )
            modules.append(module)
            specs.append(
                dict(
                    name=name,
                    student=str(meta['student']),
                    teacher=teacher,
                    teacher_tap=t_tap,
                    connector=meta['connector'],
                    schedule=schedule,
                    inputs=inputs,
                    type=spec['type'],
                )
            )
        return modules, specs

    @staticmethod
    def _cached_teacher_specs(cache_dir: str, teachers: Dict[str, dict]) -> Dict[str, dict]:
        """Teacher specs of a cached run: checked against the manifest, nothing built."""
        return cached_teacher_specs(cache_dir, teachers)

    def cached_teacher_output(self, name: str, tap: str, data_samples, size):
        """Teacher ``name``'s cached output of this batch (``tap`` 'logits' or a cached tap) at
        the batch's input ``size``; see :func:`~.cached_teachers.gather_cached_output`."""
        key = (name, tap)
        if key not in self._cached_step:
            self._cached_step[key] = gather_cached_output(
                name, tap, data_samples, size, self.teacher_specs[name], self.teacher_cache
            )
        return self._cached_step[key]

    def _validate(self) -> None:
        s_classes = getattr(getattr(self.student, 'decode_head', None), 'num_classes', None)
        for spec, module in zip(self.loss_specs, self.distill_losses):
            where = f'distill loss "{spec["name"]}" ({spec["type"]})'
            if spec['teacher'] not in self.teacher_specs:
                raise ValueError(
                    f'{where}: unknown teacher "{spec["teacher"]}"; teachers are '
                    f'{sorted(self.teacher_specs)}'
                )
            if spec['student'] not in self.student_taps.specs:
                raise ValueError(
                    f'{where}: unknown student tap "{spec["student"]}"; student taps are '
                    f'{sorted(self.student_taps.specs)}'
                )
            if self.teacher_cache:
                t_taps = ['logits'] + list(self.teacher_specs[spec['teacher']]['cached_taps'])
                if spec['teacher_tap'] not in t_taps:
                    raise ValueError(
                        f'{where}: tap "{spec["teacher_tap"]}" of teacher "{spec["teacher"]}" is '
                        f'not in the teacher cache {self.teacher_cache} (it has {t_taps}); '
                        f'cache it with tools/cache_teacher.py --taps {spec["teacher_tap"]}'
                    )
                if spec['teacher_tap'] == 'logits' and getattr(module, 'sparse_mode', None) is None:
                    raise ValueError(
                        f'{where} takes dense teacher logits only, but teacher '
                        f'"{spec["teacher"]}" comes from a teacher cache (top-k logits); use '
                        f'KDLoss, CWDLoss or DKDLoss, or distil online (no model.teacher_cache)'
                    )
            else:
                t_taps = self.teacher_taps[spec['teacher']].specs
            if spec['teacher_tap'] not in t_taps:
                raise ValueError(
                    f'{where}: unknown tap "{spec["teacher_tap"]}" of teacher '
                    f'"{spec["teacher"]}"; its taps are {sorted(t_taps)}'
                )
            if spec['connector'] is not None and spec['connector'] not in self.connectors:
                raise ValueError(
                    f'{where}: unknown connector "{spec["connector"]}"; connectors are '
                    f'{sorted(self.connectors)}'
                )
            if getattr(module, 'requires_labels', False) and not self.with_label:
                raise ValueError(
                    f'{where} needs ground-truth labels but this stage is unlabelled '
                    f'(with_label=False); use a label-free loss (KD, CWD, TAID, '
                    f'feature losses) or a labelled stage'
                )
            if (
                spec['student'] == 'logits'
                and spec['teacher_tap'] == 'logits'
                and spec['connector'] is None
            ):
                t_classes = (
                    self.teacher_specs[spec['teacher']]['num_classes']
                    if self.teacher_cache
                    else getattr(
                        getattr(self.teachers[spec['teacher']], 'decode_head', None),
                        'num_classes',
                        None,
                    )
                )
                if s_classes is not None and t_classes is not None and s_classes != t_classes:
                    raise ValueError(
                        f'{where}: the student predicts {s_classes} classes but teacher '
                        f'"{spec["teacher"]}" predicts {t_classes}; logit distillation '
                        f'needs the same class list'
                    )

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True):
        super().train(mode)  # TeacherSet.train keeps frozen teachers in eval mode
        for path in self.frozen_student_paths:
            resolve_module(self.student, path, 'student').eval()
        return self

    # ------------------------------------------------------------------ routing
    @staticmethod
    def _require(inputs: Dict[str, torch.Tensor], names, who: str) -> None:
        if not isinstance(inputs, dict):
            raise TypeError(
                f'DistillSegmentor takes a dict of modalities (PackMultiModalInputs('
                f'stack=False) + MultiModalDataPreprocessor), got {type(inputs).__name__}'
            )
        missing = [m for m in names if m not in inputs]
        if missing:
            raise KeyError(
                f'{who} needs modalities {tuple(names)} but the batch only has '
                f'{sorted(inputs)} (missing {missing}); add them to the dataset\'s '
                f'modalities'
            )

    def student_inputs(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, C, H, W) student input: its modalities, concatenated, in its own normalisation."""
        self._require(inputs, self.student_modalities, 'the student')
        return stock_model_input(
            inputs,
            self.student_modalities,
            self.dist_norm,
            self.student_norm,
            self.student_channel_flip,
        )

    def teacher_inputs(self, name: str, inputs: Dict[str, torch.Tensor]):
        """Input of teacher ``name``: exactly its modalities, in its own normalisation.

        ``{m: (B, C_m, H, W)}`` for a multi-modal teacher (one declaring ``modalities``); a
        (B, C, H, W) tensor (modalities concatenated, as its stock ``SegDataPreProcessor`` would
        produce) for a stock single-modality teacher.
        """
        mods = self.teacher_specs[name]['modalities']
        self._require(inputs, mods, f'teacher "{name}"')
        if name in self.stock_teachers:
            return stock_model_input(
                inputs,
                mods,
                self.dist_norm,
                self.teacher_norm[name],
                self.teacher_channel_flip[name],
            )
        return {m: renormalize(inputs[m], m, self.dist_norm, self.teacher_norm[name]) for m in mods}

    # ------------------------------------------------------------------ forward
    def _forward(self, inputs, data_samples=None):
        """Student logits (B, K, H/4, W/4)."""
        return self.student._forward(self.student_inputs(inputs), data_samples)

    def predict(self, inputs, data_samples=None):
        """Student-only prediction (``SegDataSample`` list with ``pred_sem_seg``)."""
        return self.student.predict(self.student_inputs(inputs), data_samples)

    @torch.no_grad()
    def teacher_predict(self, name: str, inputs, data_samples=None):
        """Prediction of teacher ``name`` from the distiller's (normalised) inputs."""
        if self.teacher_cache:
            raise RuntimeError(
                f'teacher "{name}" is not built: this distiller trains from the teacher cache '
                f'{self.teacher_cache}; evaluate the teacher with its own config and checkpoint'
            )
        return self.teachers[name].predict(self.teacher_inputs(name, inputs), data_samples)

    def _current_iter(self) -> int:
        hub = MessageHub.get_current_instance()
        it = hub.get_info('iter', None)
        return int(it) if it is not None else self._local_step

    def _run_teacher(self, name: str, inputs) -> None:
        rec = self.teacher_taps[name]
        rec.clear()
        t = self.teachers[name]
        x = self.teacher_inputs(name, inputs)
        if self.teacher_specs[name]['frozen']:
            with torch.no_grad():
                t._forward(x)
        else:
            t._forward(x)

    def loss(self, inputs, data_samples=None) -> Dict[str, torch.Tensor]:
        losses: Dict[str, torch.Tensor] = {}
        used = {spec['teacher'] for spec in self.loss_specs}
        for name in self.teachers:
            if name in used:
                self._run_teacher(name, inputs)

        x = self.student_inputs(inputs)
        gt = stack_labels(data_samples) if self.with_label else None
        labelled, padded = labelled_flags(data_samples), None
        if labelled is not None:
            losses['batch.labelled'] = x.new_tensor(float(labelled.float().mean()))
            if bool(labelled.all()):
                labelled = None  # an all-labelled batch of a mixed loader: nothing to mask
            elif gt is not None:
                padded = padded_area(data_samples, gt.shape)
        self.student_taps.clear()
        if self.with_label and self.student_task_loss and gt is not None:
            for k, v in self.student.loss(x, data_samples).items():
                losses[f'student.{k}'] = v
        else:
            self.student._forward(x, data_samples)
        if (
            self.with_label
            and gt is None
            and any(getattr(m, 'requires_labels', False) for m in self.distill_losses)
        ):
            raise ValueError(
                'a distillation loss needs labels but the batch has no gt_sem_seg '
                '(unlabelled frames?); set with_label=False and use label-free losses'
            )

        it = self._current_iter()
        step = DistillStep(model=self, student_input=x, gt=gt, iter=it)
        self._cached_step.clear()
        for spec, module in zip(self.loss_specs, self.distill_losses):
            s_feat = self.student_taps.get(spec['student'])
            if self.teacher_cache:
                t_feat = self.cached_teacher_output(
                    spec['teacher'], spec['teacher_tap'], data_samples, tuple(x.shape[-2:])
                )
            else:
                t_feat = self.teacher_taps[spec['teacher']].get(spec['teacher_tap'])
            kwargs = {}
            if spec['connector'] is not None:
                conn = self.connectors[spec['connector']]
                s_feat = (
                    conn(s_feat, t_feat) if getattr(conn, 'needs_teacher', False) else conn(s_feat)
                )
            for provide in spec['inputs'].values():
                kwargs.update(provide(step, spec))
            loss_gt = gt if labelled is None else distill_target(
                module, spec, gt, labelled, padded
            )
            out = module(s_feat, t_feat, gt=loss_gt, **kwargs)
            factor = spec['schedule'](it) if spec['schedule'] is not None else 1.0
            weight = factor * self.teacher_specs[spec['teacher']]['loss_weight']
            if isinstance(out, dict):
                for k, v in out.items():
                    losses[f'distill.{spec["name"]}.{k}'] = weight * v
            else:
                losses[f'distill.{spec["name"]}'] = weight * out
                if hasattr(module, 'update'):
                    self._last_loss_values[spec['name']] = out.detach()
            if spec['schedule'] is not None:
                self._last_factors[spec['name']] = factor
        return losses

    def parse_losses(self, losses: Dict[str, torch.Tensor]):
        """mmengine's parse_losses, then one ``update`` of every stateful loss (e.g. TAID; see
        :mod:`~crossmodal.models.distill.protocol`).

        Done here because both ``BaseModel.train_step`` and mmengine's DDP wrapper call
        ``parse_losses`` exactly once per training step (the new state is used from the next step).
        """
        parsed, log_vars = super().parse_losses(losses)
        for name, factor in self._last_factors.items():  # logged only, never summed
            log_vars[f'distill.{name}.weight'] = float(factor)
        self._last_factors.clear()
        if self.training and self._last_loss_values:
            hub = MessageHub.get_current_instance()
            total = hub.get_info('max_iters', None)
            step = self._current_iter() + 1
            for spec, module in zip(self.loss_specs, self.distill_losses):
                value = self._last_loss_values.get(spec['name'])
                if value is None or not hasattr(module, 'update'):
                    continue
                steps = getattr(module, 'total_steps', None) or total
                if not steps:
                    raise ValueError(
                        f'distill loss "{spec["name"]}" ({spec["type"]}) needs the '
                        f'total number of steps: run it with a Runner (max_iters) or '
                        f'set `total_steps` on the loss'
                    )
                module.update(value, step=step, total_steps=int(steps))
                extra = module.log_vars() if hasattr(module, 'log_vars') else {}
                for key, v in extra.items():
                    log_vars[f'distill.{spec["name"]}.{key}'] = float(v)
            self._last_loss_values.clear()
        self._local_step += 1
        return parsed, log_vars
