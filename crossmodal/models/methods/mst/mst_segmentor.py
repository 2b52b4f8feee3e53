"""``MSTDistillSegmentor``: MST-Distill's three stages on the :class:`DistillSegmentor` engine.

MST-Distill (Li et al., "MST-Distill: Mixture of Specialized Teachers for Cross-Modal Knowledge
Distillation", ACM MM 2025, arXiv 2507.07015; released code github.com/Gray-OREO/MST-Distill,
docs/methods/mst.md). Roles: a multimodal teacher T (e.g. RGB-D SFF SegFormer), a cross-modal
teacher A (the other modality alone, e.g. depth-only SegFormer) and the student S (RGB SegFormer,
stock mmseg).

One model class, one ``stage`` per run; tools/train_stages.py chains the stages with
``load_mode='all'`` (every weight - student, teachers, MaskNets, GateNet - carried over):

* ``stage='warmup'`` (stage 1, collaborative initialisation): each of T, A, S minimises its task CE
  plus ``KD(x <- y)`` from each of the other two (mutual learning). The code does not detach the
  targets (``warmup_detach_targets=False``, default = code); ``warmup_train_teachers=False`` keeps
  pre-trained teachers fixed (then only S learns, from CE + KD from T and A).
* ``stage='mask'`` (stage 2, specialised-teacher adaptation): T, A, S frozen (eval, no grad); one
  :class:`MaskNet` per hooked teacher layer (2 per teacher -> J = 4 specialised teachers). Expert j
  is the forward of its teacher with exactly its MaskNet active (hooked output ``m * x``); each
  MaskNet minimises ``KD(masked teacher <- S.detach())``.
* ``stage='route'`` (stage 3, routed distillation): teachers and MaskNets frozen; S and the
  :class:`GateNet` train. ``c = softmax(GateNet(z_S))`` over J per image (code) or per pixel
  (``route='pixel'``, extension); top-k teachers selected; ``L = w_task CE + w_kl (1/k) sum_sel
  KD(S <- z_j.detach()) + w_lb L_lb``. The gate input is detached by default
  (``gate_detach_input=False`` = code, where L_lb also shapes the student); ``gate_weighting``
  ('renorm' / 'prob') makes the distillation term differentiable w.r.t. the gate (not in the code).

Routing is logged every logger interval as ``mst.route_frac.<expert>`` (fraction of images/pixels
sent to each expert in the step) and ``mst.gate_prob.<expert>`` (mean gate probability); the
cumulative counts of the whole stage are kept in the ``route_counts`` buffer (saved in checkpoints).

Code behaviours not reproduced: the per-epoch decay of ``w_lb`` (x0.9 / 10 epochs) and ``w_kl``
(x0.5 / 30 epochs, both firing after epoch 0) and best-on-validation model selection; our stages are
iteration-based with one LR schedule each.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from ...base import stack_labels
from ...distill.distill_segmentor import DistillSegmentor
from ...distill.taps import TapRecorder, parse_tap, resolve_module
from ...losses.dense import masked_mean, resize_labels
from ...segmentors.multimodal_encoder_decoder import DEFAULT_IN_CHANNELS
from .gatenet import GateNet
from .losses import kd_map, load_balancing_loss, masked_teacher_kd, routed_kd
from .masknet import MaskNet

STAGES = ('warmup', 'mask', 'route')
_STAGE_ALIASES = {1: 'warmup', 2: 'mask', 3: 'route', '1': 'warmup', '2': 'mask', '3': 'route'}


def _stage_name(stage: Union[str, int]) -> str:
    name = _STAGE_ALIASES.get(stage, stage)
    if name not in STAGES:
        raise ValueError(
            f'MSTDistillSegmentor: stage must be one of {STAGES} (or 1/2/3), got {stage!r}'
        )
    return name


@MODELS.register_module()
class MSTDistillSegmentor(DistillSegmentor):
    """MST-Distill (see the module docstring).

    Args:
        student: stock mmseg segmentor config (path or dict), as in :class:`DistillSegmentor`.
        teachers: ``{name: dict(config=..., checkpoint=..., modalities=(...))}``, normally two:
            the multimodal teacher and the cross-modal (X-only) teacher. A teacher may be a
            :class:`MultiModalEncoderDecoder` (dict input) or a stock ``EncoderDecoder`` (its
            modalities concatenated, normalised with its own ``SegDataPreProcessor``). ``frozen``
            is set by the stage and must not be given.
        stage: ``'warmup' | 'mask' | 'route'`` (or 1 / 2 / 3).
        mask_layers: ``{teacher: {layer_name: 'module.path' or 'module.path[i]'}}``: the hooked
            (B, C, H, W) outputs, one MaskNet each; expert names are ``<teacher>_<layer_name>``.
            E.g. ``fusions.3`` (RGB-X teacher fused stage 4), ``backbone[3]`` (stock SegFormer
            stage 4), ``decode_head.fusion_conv`` (SegFormer head fused feature).
        unmasked_experts: also offer each plain teacher as an expert (J = masks + teachers).
        hidden_dim_factor, mask_heads: MaskNet size (``h = floor(C / (factor * heads)) * heads``).
        mask_channels: ``{expert: C}``; default: inferred by one dummy teacher forward.
        tau: KD temperature (code 4).
        top_k: teachers routed per image / pixel (code 1).
        route: ``'image'`` (code) or ``'pixel'`` (dense extension).
        gate_detach_input: detach z_S before the GateNet (default True; False = code).
        gate_weighting: None (code, hard top-k), ``'renorm'`` or ``'prob'``
            (:func:`~crossmodal.models.methods.mst.losses.routed_kd`).
        w_task, w_kl, w_lb: stage-3 weights of CE, routed KD, load balancing (code 1 / 1 / 1).
        lb_mode: ``'KL'`` (code default) or ``'CV'``.
        lb_code_batchmean: reproduce the code's extra ``/J`` in the KL load-balancing term.
        warmup_train_teachers: stage 1 updates T and A too (code); False keeps them fixed.
        warmup_detach_targets: stage-1 KD targets detached (DML-style); False = code.
        w_mutual: weight of every stage-1 KD term (code 1).
        mask_void: exclude void pixels (labels == ignore_index) from KD means (code: no mask).
        modality_channels, data_preprocessor, init_cfg: as in :class:`DistillSegmentor`.
    """

    def __init__(
        self,
        student: Union[str, dict],
        teachers: Dict[str, dict],
        stage: Union[str, int],
        mask_layers: Dict[str, Dict[str, str]],
        student_modalities: Sequence[str] = ('rgb',),
        unmasked_experts: bool = False,
        hidden_dim_factor: float = 4,
        mask_heads: int = 3,
        mask_channels: Optional[Dict[str, int]] = None,
        tau: float = 4.0,
        top_k: int = 1,
        route: str = 'image',
        gate_detach_input: bool = True,
        gate_weighting: Optional[str] = None,
        w_task: float = 1.0,
        w_kl: float = 1.0,
        w_lb: float = 1.0,
        lb_mode: str = 'KL',
        lb_code_batchmean: bool = False,
        warmup_train_teachers: bool = True,
        warmup_detach_targets: bool = False,
        w_mutual: float = 1.0,
        mask_void: bool = True,
        modality_channels: Optional[Dict[str, int]] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        stage = _stage_name(stage)
        if not teachers:
            raise ValueError('MSTDistillSegmentor needs teachers (multimodal + cross-modal)')
        if route not in ('image', 'pixel'):
            raise ValueError(
                f"MSTDistillSegmentor: route must be 'image' or 'pixel', got {route!r}"
            )
        if lb_mode not in ('KL', 'CV'):
            raise ValueError(f"MSTDistillSegmentor: lb_mode must be 'KL' or 'CV', got {lb_mode!r}")
        if gate_weighting not in (None, 'renorm', 'prob'):
            raise ValueError(
                f"MSTDistillSegmentor: gate_weighting must be None, 'renorm' or 'prob', "
                f'got {gate_weighting!r}'
            )
        if tau <= 0:
            raise ValueError(f'MSTDistillSegmentor: tau must be > 0, got {tau}')
        train_teachers = stage == 'warmup' and bool(warmup_train_teachers)
        specs = {}
        for name, spec in teachers.items():
            spec = dict(spec)
            if 'frozen' in spec:
                raise ValueError(
                    f'teacher "{name}": MSTDistillSegmentor sets `frozen` from the '
                    f'stage (trainable only in stage "warmup" with '
                    f'warmup_train_teachers=True); remove the key'
                )
            spec['frozen'] = not train_teachers
            specs[name] = spec
        super().__init__(
            student=student,
            teachers=specs,
            student_modalities=student_modalities,
            modality_channels=modality_channels,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        self.stage = stage
        self.tau = float(tau)
        self.top_k = int(top_k)
        self.route = route
        self.gate_detach_input = bool(gate_detach_input)
        self.gate_weighting = gate_weighting
        self.w_task, self.w_kl, self.w_lb = float(w_task), float(w_kl), float(w_lb)
        self.lb_mode = lb_mode
        self.lb_code_batchmean = bool(lb_code_batchmean)
        self.warmup_train_teachers = bool(warmup_train_teachers)
        self.warmup_detach_targets = bool(warmup_detach_targets)
        self.w_mutual = float(w_mutual)
        self.mask_void = bool(mask_void)
        self.ignore_index = int(
            getattr(getattr(self.student, 'decode_head', None), 'ignore_index', 255)
        )
        chans = dict(DEFAULT_IN_CHANNELS)
        chans.update(modality_channels or {})
        self._modality_channels = chans

        # experts: one MaskNet per hooked layer (+ optional unmasked teachers)
        unknown = sorted(set(mask_layers) - set(self.teachers))
        if unknown:
            raise ValueError(
                f'mask_layers names unknown teachers {unknown}; teachers are '
                f'{sorted(self.teachers)}'
            )
        self.mask_points: Dict[str, tuple] = {}
        for tname, layers in mask_layers.items():
            for lname, path in layers.items():
                key = f'{tname}_{lname}'
                if '.' in key or 'loss' in key:
                    raise ValueError(f'expert name {key!r} must contain neither "." nor "loss"')
                self.mask_points[key] = (tname,) + parse_tap(path)
        if not self.mask_points:
            raise ValueError('mask_layers must name at least one hooked teacher layer')
        self.expert_names = list(self.mask_points)
        if unmasked_experts:
            self.expert_names += list(self.teachers)
        channels = dict(mask_channels or {})
        missing = [k for k in self.mask_points if k not in channels]
        if missing:
            channels.update(self._infer_mask_channels(missing))
        with torch.random.fork_rng(devices=[]):
            self.masknets = nn.ModuleDict(
                {
                    k: MaskNet(channels[k], hidden_dim_factor=hidden_dim_factor, heads=mask_heads)
                    for k in self.mask_points
                }
            )
            num_classes = self.student.decode_head.num_classes
            self.gate = GateNet(num_classes, len(self.expert_names), per_pixel=route == 'pixel')
        if not 1 <= self.top_k <= len(self.expert_names):
            raise ValueError(f'top_k={top_k} must be in [1, J={len(self.expert_names)}]')
        self.register_buffer(
            'route_counts', torch.zeros(len(self.expert_names), dtype=torch.float64)
        )
        self._active_expert: Optional[str] = None
        self._last_masks: Dict[str, torch.Tensor] = {}
        self._mask_handles = [
            resolve_module(self.teachers[t], path, f'teacher "{t}"').register_forward_hook(
                self._make_mask_hook(key, index)
            )
            for key, (t, path, index) in self.mask_points.items()
        ]

        # what trains in this stage
        trainable = {
            'warmup': ['student'] + (['teachers'] if train_teachers else []),
            'mask': ['masknets'],
            'route': ['student', 'gate'],
        }[stage]
        self.trainable_parts = tuple(trainable)
        for part in ('student', 'teachers', 'masknets', 'gate'):
            for p in getattr(self, part).parameters():
                p.requires_grad_(part in trainable)
        self.train(self.training)

    # ------------------------------------------------------------------ construction helpers
    def _dummy_teacher_input(self, name: str, size=(64, 64)):
        mods = self.teacher_specs[name]['modalities']
        x = {m: torch.zeros(1, self._modality_channels.get(m, 1), *size) for m in mods}
        if name in self.stock_teachers:
            return torch.cat([x[m] for m in mods], 1)
        return x

    @torch.no_grad()
    def _infer_mask_channels(self, keys) -> Dict[str, int]:
        """C of each hooked output, from one dummy forward per teacher (eval mode, 64x64 zeros)."""
        out = {}
        for tname in sorted({self.mask_points[k][0] for k in keys}):
            t = self.teachers[tname]
            specs = {
                k: path if index is None else f'{path}[{index}]'
                for k in keys
                for t_, path, index in [self.mask_points[k]]
                if t_ == tname
            }
            rec = TapRecorder(t, specs, f'teacher "{tname}"')
            was = t.training
            t.eval()
            try:
                t._forward(self._dummy_teacher_input(tname))
                feats = {k: rec.get(k) for k in specs}  # errors name a layer that never ran
            finally:
                t.train(was)
                rec.remove()
            for k, f in feats.items():
                if not torch.is_tensor(f) or f.dim() != 4:
                    raise ValueError(
                        f'mask layer {specs[k]} of teacher "{tname}" outputs '
                        f'{type(f).__name__} {tuple(getattr(f, "shape", ()))}; MaskNet '
                        f'needs (B, C, H, W) (index a list output with [i])'
                    )
                out[k] = int(f.shape[1])
        return out

    def _make_mask_hook(self, key: str, index: Optional[int]):
        def hook(module, args, output):
            if self._active_expert != key:
                return None
            feat = output[index] if index is not None else output
            mask = self.masknets[key](feat)  # (B, C)
            self._last_masks[key] = mask.detach()
            masked = feat * mask[:, :, None, None]
            if index is None:
                return masked
            new = list(output)
            new[index] = masked
            return type(output)(new) if isinstance(output, tuple) else new

        return hook

    # ------------------------------------------------------------------ modes / routing
    def train(self, mode: bool = True):
        super().train(mode)
        if mode and hasattr(self, 'trainable_parts'):
            for part in ('student', 'teachers', 'masknets', 'gate'):
                if part not in self.trainable_parts:
                    getattr(self, part).eval()
        return self

    # ------------------------------------------------------------------ forwards
    def expert_logits(self, expert: str, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits (B, K, h, w) of specialised teacher ``expert`` (its MaskNet active).

        Runs with the caller's grad mode: under ``no_grad`` in stage 3, with grad in stage 2 (the
        teacher's weights are frozen, so only the MaskNet receives gradients).
        """
        if expert in self.mask_points:
            tname = self.mask_points[expert][0]
        elif expert in self.teachers and expert in self.expert_names:
            tname = expert  # unmasked teacher
        else:
            raise KeyError(f'unknown expert {expert!r}; experts are {self.expert_names}')
        self._active_expert = expert if expert in self.mask_points else None
        try:
            return self.teachers[tname]._forward(self.teacher_inputs(tname, inputs))
        finally:
            self._active_expert = None

    def _valid(self, gt: Optional[torch.Tensor], size) -> Optional[torch.Tensor]:
        if gt is None or not self.mask_void:
            return None
        return resize_labels(gt.long(), size) != self.ignore_index

    def loss(self, inputs, data_samples=None) -> Dict[str, torch.Tensor]:
        gt = stack_labels(data_samples)
        if gt is None and self.stage != 'mask':
            raise ValueError(
                f'MST-Distill stage "{self.stage}" needs labels (gt_sem_seg) for the '
                f'task cross-entropy; the batch has none'
            )
        return getattr(self, f'_loss_{self.stage}')(inputs, data_samples, gt)

    def _student_loss(self, x, data_samples, weight: float, losses: dict) -> torch.Tensor:
        self.student_taps.clear()
        for k, v in self.student.loss(x, data_samples).items():
            losses[f'student.{k}'] = weight * v if 'loss' in k else v
        return self.student_taps.get('logits')

    def _loss_warmup(self, inputs, data_samples, gt):
        losses: Dict[str, torch.Tensor] = {}
        logits = {}
        for name, t in self.teachers.items():
            x_t = self.teacher_inputs(name, inputs)
            self.teacher_taps[name].clear()
            if self.teacher_specs[name]['frozen']:
                with torch.no_grad():
                    logits[name] = t._forward(x_t)
            else:
                for k, v in t.loss(x_t, data_samples).items():
                    losses[f'mst.{name}.{k}'] = self.w_task * v if 'loss' in k else v
                logits[name] = self.teacher_taps[name].get('logits')
        logits['student'] = self._student_loss(
            self.student_inputs(inputs), data_samples, self.w_task, losses
        )
        size = logits['student'].shape[-2:]
        valid = self._valid(gt, size)
        learners = ['student'] + [n for n in self.teachers if not self.teacher_specs[n]['frozen']]
        for a in learners:
            for b in logits:
                if b == a:
                    continue
                target = logits[b]
                m = kd_map(logits[a], target, self.tau, detach_target=self.warmup_detach_targets)
                v = valid if tuple(m.shape[-2:]) == tuple(size) else self._valid(gt, m.shape[-2:])
                losses[f'mst.loss_kd.{a}_from_{b}'] = self.w_mutual * masked_mean(m, v)
        return losses

    def _loss_mask(self, inputs, data_samples, gt):
        losses: Dict[str, torch.Tensor] = {}
        with torch.no_grad():
            z_s = self.student._forward(self.student_inputs(inputs))
        for key in self.mask_points:
            z_j = self.expert_logits(key, inputs)
            losses[f'mst.loss_mask.{key}'] = masked_teacher_kd(
                z_j, z_s, self.tau, self._valid(gt, z_j.shape[-2:])
            )
            losses[f'mst.mask_mean.{key}'] = self._last_masks[key].mean()
        return losses

    def _loss_route(self, inputs, data_samples, gt):
        losses: Dict[str, torch.Tensor] = {}
        z_s = self._student_loss(self.student_inputs(inputs), data_samples, self.w_task, losses)
        with torch.no_grad():
            z_experts = [self.expert_logits(e, inputs) for e in self.expert_names]
        kd_maps = torch.stack([kd_map(z_s, z_j, self.tau) for z_j in z_experts], 1)  # (B, J, h, w)
        gate_logits = self.gate(z_s.detach() if self.gate_detach_input else z_s)
        if gate_logits.dim() == 4 and gate_logits.shape[-2:] != z_s.shape[-2:]:
            raise RuntimeError('per-pixel gate logits must match the student logit grid')
        probs = gate_logits.softmax(1)
        valid = self._valid(gt, z_s.shape[-2:])
        l_kd, sel = routed_kd(kd_maps, probs, self.top_k, valid, self.gate_weighting)
        losses['mst.loss_route_kd'] = self.w_kl * l_kd
        losses['mst.loss_lb'] = self.w_lb * load_balancing_loss(
            probs, self.lb_mode, self.lb_code_batchmean
        )
        counts = sel.detach().transpose(0, 1).reshape(sel.shape[1], -1).sum(1)  # (J,)
        frac = counts / counts.sum().clamp_min(1.0)
        mean_p = probs.detach().transpose(0, 1).reshape(probs.shape[1], -1).mean(1)
        for j, e in enumerate(self.expert_names):
            losses[f'mst.route_frac.{e}'] = frac[j]
            losses[f'mst.gate_prob.{e}'] = mean_p[j]
        if self.training:
            self.route_counts += counts.to(self.route_counts)
        return losses

    def routing_fractions(self) -> Dict[str, float]:
        """Cumulative fraction of images (pixels) routed to each expert in stage 3 so far."""
        total = float(self.route_counts.sum())
        return {
            e: (float(c) / total if total else 0.0)
            for e, c in zip(self.expert_names, self.route_counts.tolist())
        }
