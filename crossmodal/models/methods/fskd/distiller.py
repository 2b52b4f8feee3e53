"""``FSKDDistiller``: frozen LiDAR+RGBI teacher -> RGBI-only regression student (FSKD,
reconstruction).

FSKD (arXiv 2604.01766) says the RGBI-only SegFormer student "learns to reproduce" the fused
teacher's outputs; losses and weights are not published. Reconstruction
(docs/methods/fskd.md (b) and its defaults) [RECON]:

    L = λ_gt · L_gt(student, LiDAR targets) + λ_kd · L_kd(student, sg(teacher)) [+ λ_feat · L_feat]

* ``L_gt``: the student head's own masked loss (NaN targets = no data), in normalised units.
* ``L_kd`` (output KD): a registry loss (default :class:`MaskedL1Loss`) between the student's and
  the teacher's *normalised* predictions, both bilinearly upsampled to the input size. A teacher
  output that is not finite where the LiDAR target has data (anywhere when there are no targets)
  is an error (:meth:`FSKDDistiller.check_teacher_finite`: a diverged or broken teacher must not
  silently give a zero KD loss); where the target is NaN it is masked like the target;
  ``kd_mask_no_data=True`` also masks pixels
  whose LiDAR targets are NaN (no returns there, so the teacher's LiDAR input is empty);
  ``kd_confidence_tau`` > 0 weights each pixel by exp(-|t - y| / tau) (teacher vs LiDAR target,
  normalised units, mean over targets; 1 where the target is NaN) — optional, off by default.
* ``L_feat`` (optional feature KD): MSE between the student's fused decoder feature and the
  teacher's (1x1 conv connector when the widths differ), ``feature_kd=dict(loss_weight=...)``.

The teacher is built, loaded and frozen by the distillation engine's teacher container
(:func:`crossmodal.models.distill.teachers.build_teacher`, as every ``DistillSegmentor`` teacher):
built from a model config (dict, or a config file path whose ``model`` is used), loaded **strictly**
from ``teacher_checkpoint`` (a file or the teacher's work dir; a mismatch is a
:class:`~crossmodal.models.distill.teachers.TeacherCheckpointError`, both a ``RuntimeError`` and a
``ValueError``), marked initialised, ``requires_grad=False``, kept in eval mode and run under
``torch.no_grad``. ``init_weights`` initialises the student and the connector only.

What still stands apart from ``DistillSegmentor`` (and why): the student/teacher forward and the
loss loop. FSKD's models are regression segmentors whose ``forward_regression`` returns
(normalised prediction, fused decoder feature) and whose head owns the masked GT loss; the KD term
compares predictions *upsampled to the target size* with pixel weights computed from the ground
truth (``kd_weight``) after :meth:`check_teacher_finite`. The engine's loop records taps with hooks
and calls ``loss(student_feat, teacher_feat, gt=<class labels>)``; expressing FSKD there needs a
regression-aware ``gt`` and a loss input for the teacher's finiteness check, which would change the
state-dict layout (``teacher.*`` -> ``teachers.teacher.*``, ``connector.*`` -> ``connectors.*``)
of existing FSKD checkpoints. Until that migration, FSKD keeps its own loop (this file) on the
shared teacher container and checkpoint utilities.

Data: the dataloader yields ``{'rgb': (4, H, W), 'lidar': (C, H, W)}`` (PackMultiModalInputs,
stack=False) and the distiller's ``data_preprocessor`` (MultiModalDataPreprocessor) normalises each
modality; the student receives ``inputs[student_key]``. The student's own data preprocessor is not
used here; its mean/std must equal the distiller's for ``student_key`` (checked) so the exported
student behaves identically. ``predict``/``_forward`` run the student alone: validation/test report
the student. ``state_dict`` keys: ``student.*`` (a plain RegressionEncoderDecoder after stripping
the prefix, see :func:`student_state_dict`), ``teacher.*``, ``connector.*``.
"""

from __future__ import annotations

from typing import Dict, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from crossmodal.models.base import ModeDispatchModel
from crossmodal.models.distill.teachers import build_teacher, load_teacher_weights, model_config
from crossmodal.utils.checkpoints import select_prefix

TEACHER_CFG_KEY = 'model.teacher_checkpoint'


def student_state_dict(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Distiller state dict -> the student's (``student.`` prefix stripped, teacher/connector
    dropped)."""
    return select_prefix(state, 'student.')


@MODELS.register_module()
class FSKDDistiller(ModeDispatchModel):
    """Output (+ optional feature) distillation of a frozen FSKD teacher into a regression student.

    Args:
        student: student model config (a :class:`RegressionEncoderDecoder`).
        teacher: teacher model config or config-file path (e.g. :class:`FSKDTeacher`).
        teacher_checkpoint: teacher weights (None only for tests / building without weights).
        student_key: input key the student reads (default 'rgb' = the RGBI image).
        lambda_gt, lambda_kd: weights of the GT and output-KD terms (λ_gt = 0: pure KD).
        kd_loss: registry loss for output KD (``(pred, target, weight=None)``, NaN = no data).
        kd_mask_no_data: also mask KD where the LiDAR targets are NaN (needs ``gt_regression``).
        kd_confidence_tau: > 0 enables the confidence weighting exp(-|t - y| / tau).
        feature_kd: None or ``dict(loss_weight=0.0)`` (off), or ``dict(loss_weight=w)`` with w > 0
            for decoder-feature MSE KD.
        data_preprocessor: MultiModalDataPreprocessor config (normalises every modality).
    """

    def __init__(
        self,
        student: dict,
        teacher: Union[str, dict],
        teacher_checkpoint: Optional[str] = None,
        student_key: str = 'rgb',
        lambda_gt: float = 1.0,
        lambda_kd: float = 1.0,
        kd_loss: Optional[dict] = None,
        kd_mask_no_data: bool = False,
        kd_confidence_tau: float = 0.0,
        feature_kd: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        s_cfg = model_config(student, 'FSKDDistiller student')
        self.student = MODELS.build(s_cfg)
        # built without weights first: the set-up checks below come before loading
        self.teacher, _ = build_teacher(teacher, None, 'teacher', warn_random=False)
        self.student_key = student_key
        self.lambda_gt, self.lambda_kd = float(lambda_gt), float(lambda_kd)
        self.kd_loss = MODELS.build(
            kd_loss or dict(type='MaskedL1Loss', loss_weight=1.0, loss_name='loss_kd')
        )
        self.kd_mask_no_data = bool(kd_mask_no_data)
        self.kd_confidence_tau = float(kd_confidence_tau)
        self._check_heads()
        self._check_normalisation()
        # feature_kd=dict(loss_weight=0) is 'off' too (configs can then enable it by --cfg-options)
        self.feature_kd = (
            dict(feature_kd)
            if feature_kd and float(feature_kd.get('loss_weight', 1.0)) > 0
            else None
        )
        if self.feature_kd:
            cs, ct = self.student.decode_head.channels, self.teacher.decode_head.channels
            self.connector = nn.Conv2d(cs, ct, 1) if cs != ct else nn.Identity()
        self.teacher_checkpoint = teacher_checkpoint
        if teacher_checkpoint:
            self.load_teacher(teacher_checkpoint)

    # ------------------------------------------------------------------ set-up checks
    def _check_heads(self) -> None:
        sh, th = self.student.decode_head, self.teacher.decode_head
        for h, who in ((sh, 'student'), (th, 'teacher')):
            if not hasattr(h, 'to_physical'):
                raise TypeError(
                    f'FSKDDistiller: the {who} head {type(h).__name__} is not a regression head'
                )
        if tuple(sh.target_names) != tuple(th.target_names):
            raise ValueError(
                f'FSKDDistiller: student targets {sh.target_names} != '
                f'teacher targets {th.target_names}'
            )
        if not torch.allclose(sh.target_scales, th.target_scales):
            raise ValueError(
                'FSKDDistiller: student and teacher heads use different target_scales '
                f'({sh.target_scales.flatten().tolist()} vs '
                f'{th.target_scales.flatten().tolist()}); '
                'output KD compares normalised predictions, so they must match'
            )

    def _check_normalisation(self) -> None:
        sp = getattr(self.student, 'data_preprocessor', None)
        mine = self.data_preprocessor
        if sp is None or not hasattr(sp, 'mean') or getattr(sp, 'mean', None) is None:
            return
        key = self.student_key
        if not hasattr(mine, f'mean_{key}'):
            raise ValueError(
                f'FSKDDistiller: data_preprocessor has no mean/std for the student input "{key}"'
            )
        m, s = getattr(mine, f'mean_{key}').flatten(), getattr(mine, f'std_{key}').flatten()
        if m.shape != sp.mean.flatten().shape or not (
            torch.allclose(m, sp.mean.flatten()) and torch.allclose(s, sp.std.flatten())
        ):
            raise ValueError(
                f'FSKDDistiller: the student\'s data_preprocessor mean/std '
                f'{sp.mean.flatten().tolist()} / '
                f'{sp.std.flatten().tolist()} differ from the distiller\'s for "{key}" '
                f'{m.tolist()} / {s.tolist()}; the exported student would see other inputs'
            )

    def load_teacher(self, path: str) -> str:
        """Load teacher weights strictly (a teacher checkpoint, ``state_dict`` or plain; or the
        teacher's work dir, whose best checkpoint is used, else the latest); returns the file."""
        return load_teacher_weights(self.teacher, path, 'teacher', TEACHER_CFG_KEY)

    def init_weights(self):
        """Initialise the student only (the teacher keeps its checkpoint weights)."""
        self.student.init_weights()
        if self.feature_kd and isinstance(self.connector, nn.Conv2d):
            nn.init.kaiming_normal_(self.connector.weight)
            nn.init.zeros_(self.connector.bias)

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    # ------------------------------------------------------------------ forward
    def _forward(self, inputs, data_samples=None):
        """Student regression maps (tensor mode)."""
        return self.student._forward(self._student_input(inputs), data_samples)

    def _student_input(self, inputs):
        if isinstance(inputs, dict):
            if self.student_key not in inputs:
                raise KeyError(
                    f'FSKDDistiller: inputs lack the student modality "{self.student_key}" '
                    f'(got {sorted(inputs)})'
                )
            return inputs[self.student_key]
        return inputs

    def predict(self, inputs, data_samples=None):
        """The student's prediction (``pred_regression``)."""
        return self.student.predict(self._student_input(inputs), data_samples)

    @torch.no_grad()
    def teacher_forward(self, inputs):
        """Teacher normalised predictions (B, K, H/4, W/4) and fused decoder feature."""
        self.teacher.eval()
        return self.teacher.forward_regression(inputs)

    def check_teacher_finite(self, t_up: torch.Tensor, gt: Optional[torch.Tensor]) -> None:
        """Raise FloatingPointError if the teacher output ``t_up`` (B, K, H, W, normalised) is
        NaN/inf at a pixel and target channel where the ground truth ``gt`` (B, K, H, W, NaN = no
        data) is finite, or anywhere when ``gt`` is None. (The KD loss masks non-finite targets, so
        such a teacher would otherwise contribute an exact 0 loss without any warning.)"""
        bad = ~torch.isfinite(t_up)
        if gt is not None:
            bad &= torch.isfinite(gt)
        n_bad = int(bad.sum())
        if n_bad:
            where = (
                'where the ground truth has data'
                if gt is not None
                else 'and there is no ground truth to mask them'
            )
            raise FloatingPointError(
                f'FSKDDistiller: the teacher {type(self.teacher).__name__} output is NaN/inf at '
                f'{n_bad} of {bad.numel()} pixel values (B x K x H x W = {tuple(t_up.shape)}) '
                f'{where}; check the teacher checkpoint and its inputs (the KD loss would silently '
                'be 0 there)'
            )

    def kd_weight(self, t_up: torch.Tensor, gt: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        """Pixel weights (B, 1, H, W) of the KD term (None = all ones); see the module docstring."""
        w = None
        if gt is not None and (self.kd_mask_no_data or self.kd_confidence_tau > 0):
            gt_n = self.student.decode_head.to_normalised(gt)
            has = torch.isfinite(gt_n)
            if self.kd_mask_no_data:
                w = has.all(dim=1, keepdim=True).to(t_up.dtype)
            if self.kd_confidence_tau > 0:
                err = torch.where(
                    has,
                    (t_up - torch.where(has, gt_n, torch.zeros_like(gt_n))).abs(),
                    torch.zeros_like(t_up),
                )
                cnt = has.sum(dim=1, keepdim=True).clamp_min(1)
                conf = torch.exp(-(err.sum(dim=1, keepdim=True) / cnt) / self.kd_confidence_tau)
                conf = torch.where(has.any(dim=1, keepdim=True), conf, torch.ones_like(conf))
                w = conf if w is None else w * conf
        return w

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        s_in = self._student_input(inputs)
        t_pred, t_feat = self.teacher_forward(inputs)
        s_pred, s_feat = self.student.forward_regression(s_in)
        head = self.student.decode_head
        losses = {}
        has_gt = data_samples is not None and all('gt_regression' in ds for ds in data_samples)
        gt = head.stack_targets(data_samples).to(s_pred.device) if has_gt else None
        if self.lambda_gt > 0:
            if gt is None:
                raise ValueError(
                    'FSKDDistiller: lambda_gt > 0 needs gt_regression in every data sample'
                )
            for k, v in head.loss_by_feat(s_pred, data_samples).items():
                losses[f'student.{k}'] = v * self.lambda_gt if 'loss' in k else v
        size = gt.shape[-2:] if gt is not None else s_in.shape[-2:]
        s_up = F.interpolate(s_pred, size=size, mode='bilinear', align_corners=head.align_corners)
        t_up = F.interpolate(t_pred, size=size, mode='bilinear', align_corners=head.align_corners)
        self.check_teacher_finite(t_up, gt)
        w = self.kd_weight(t_up, gt)
        if w is not None:
            w = w.expand_as(t_up)
        losses['distill.loss_kd'] = self.lambda_kd * self.kd_loss(s_up, t_up, weight=w)
        if self.feature_kd:
            sf = self.connector(s_feat)
            if sf.shape[-2:] != t_feat.shape[-2:]:
                sf = F.interpolate(sf, size=t_feat.shape[-2:], mode='bilinear', align_corners=False)
            losses['distill.loss_feat'] = float(
                self.feature_kd.get('loss_weight', 1.0)
            ) * F.mse_loss(sf, t_feat)
        return losses
