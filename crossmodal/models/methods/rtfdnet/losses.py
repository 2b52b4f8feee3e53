"""RTFDNet losses (arXiv 2603.09149; docs/methods/rtfdnet.md (b), (e)): CMDR (feature + logit part)
and RDR.

Notation: K classes, unimodal logits Z^m (m in {rgb, x}) and fused logits Z^f, all (B, K, H, W)
at label size; stage maps F_i^m, F_i^f (B, C_i, H_i, W_i), i = 1..S; ``gt`` (B, H, W) long with
``ignore_index`` for void.

* :class:`CMDRFeatureLoss` ("AKD" in the released code): modality-specific gated feature matching
  ``sum_m (1/S) sum_i MSE(a_i^m * F_i^m, a_i^m * sg(F_i^f))`` with a channel gate
  ``a_i^m = sigmoid(C_i * p_i(F_i^m) * p_i(F_i^f))`` (B, C_i), p_i = one L2-normalised MLP
  (C -> C/r -> C) of the pooled descriptor 0.5 (GAP + GMP), applied to both sides.
* :class:`CMDRLogitLoss` ("M_CrossEntropyLoss"): ``sum_m CE(Z^m, argmax_k Z^f)``, the fused head's
  hard prediction as a stop-gradient target, optionally class-weighted by the target class.
* :class:`RDRLoss` ("RegionL1"): class-selective L1 consistency
  ``sum_m sum |M^m * (Z^m - sg(Z^f))| / (K * #pixels)``, M^m = one-hot(argmax_k Z^m), optionally
  class-weighted by the fused argmax class.

Where the paper and the authors' released code (curapima/RTFDNet @ c47a832) differ, the paper is
the default and the code's behaviour is a flag (each class says which).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


def _pool(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C): 0.5 (global average + global max)."""
    return 0.5 * (x.mean(dim=(2, 3)) + x.amax(dim=(2, 3)))


def _mlp(channels: int, reduction: int) -> nn.Sequential:
    hidden = max(channels // reduction, 1)
    return nn.Sequential(
        nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
    )


GATE_MLPS = ('shared', 'separate')
GATE_NORMS = (None, 'mean')


def _class_weight_buffer(class_weight: Optional[Sequence[float]]) -> Optional[torch.Tensor]:
    """(K,) float tensor of non-negative per-class weights, or None."""
    if class_weight is None:
        return None
    class_weight = torch.as_tensor(class_weight, dtype=torch.float32).flatten()
    if (class_weight < 0).any():
        raise ValueError(f'class_weight must be non-negative, got {class_weight.tolist()}')
    return class_weight


def _target_weights(
    class_weight: Optional[torch.Tensor], target: torch.Tensor, num_classes: int, like
) -> Optional[torch.Tensor]:
    """(B, H, W) weight of each pixel's target class (None when unweighted)."""
    if class_weight is None:
        return None
    if class_weight.numel() != num_classes:
        raise ValueError(
            f'class_weight has {class_weight.numel()} entries but the logits have '
            f'{num_classes} classes'
        )
    return class_weight.to(like)[target]


def _valid_mask(
    gt: Optional[torch.Tensor], shape, ignore_index: int, mask_void: bool, device
) -> torch.Tensor:
    """(B, H, W) bool: pixels that count (all when ``mask_void`` is False or no ``gt``)."""
    if gt is None or not mask_void:
        return torch.ones(shape, dtype=torch.bool, device=device)
    if gt.dim() == 4:
        gt = gt[:, 0]
    if tuple(gt.shape) != tuple(shape):
        raise ValueError(
            f'gt has shape {tuple(gt.shape)} but the logits are {tuple(shape)} '
            f'(resize the logits to label size first)'
        )
    return gt != ignore_index


@MODELS.register_module()
class CMDRFeatureLoss(nn.Module):
    """CMDR feature part: gated MSE between each unimodal encoder's stage maps and the fused ones.

    Per modality m and stage i: ``MSE(a * F_i^m, a * F_i^f)`` (mean over B, C_i, H_i, W_i), with
    the channel gate ``a = sigmoid(C_i * p(F_i^m) * p'(F_i^f))`` (B, C_i) in (0, 1), broadcast over
    H_i, W_i; averaged over the S stages and summed over the modalities.

    Args:
        stage_channels: C_i of every stage (the gate MLPs are built here, in ``__init__``).
        num_modalities: unimodal streams compared with the fused stream (2 for RGB + X).
        reduction: MLP bottleneck ratio r (16 in the released code).
        alpha: ``'learned'`` (default): the gate MLPs are parameters of this module and are
            optimised with the model. ``'random'`` reproduces the released code, which rebuilds
            freshly initialised MLPs inside every forward (its "built" flag is never set), so the
            gate is random noise each call and never trained (one fresh MLP per stage and call,
            applied to both sides as in the code; ``gate_mlps`` is then ignored).
        gate_mlps: ``'shared'`` (default; the method's formula ``sigmoid(C * p(F^m) * p(F^f))``,
            docs/methods/rtfdnet.md (b), i.e. the released code's single ``Feature_Pool`` per
            stage; the paper body gives no other form to us): one MLP p_i per stage,
            applied to the unimodal and the fused descriptor and shared by the modalities. Since
            both sides go through the same p_i, the gate logits are ``C_i * p_i(F^m)_c *
            p_i(F^f)_c`` with mean over channels ``cos(p_i(F^m), p_i(F^f))``: where the two pooled
            descriptors are equal every channel's gate is >= 0.5, and closing it needs p_i to map
            the two descriptors apart.
            ``'separate'`` = this project's earlier version (attributes ``mlps_uni`` /
            ``mlps_fused``, one MLP p per modality and stage on the unimodal side and another
            q on the fused side): the gate can close itself without looking at the features
            (q -> -p gives every logit about -1, gate about sigmoid(-1) = 0.27). Measured on the
            embedded RGB-T config (200 iterations, docs/methods/rtfdnet.md): mean gate
            0.49 -> 0.33 and gated / raw MSE 0.28 -> 0.054 with ``'separate'``, against
            0.68 -> 0.65 and 0.49 -> 0.45 with ``'shared'``. Kept to load/reproduce those runs.
        detach_gate: False (default, paper/code): the loss back-propagates through the gate, so
            the gate MLPs are trained by this loss alone (and may lower it by closing the gate).
            True: the gate is computed without gradient; the loss can only fall by moving F^m
            towards F^f, and the learned gate MLPs then receive no gradient at all (they keep
            their initial weights: a fixed random gate; under DDP set
            ``find_unused_parameters``). A project option, not in the paper or the code.
        gate_norm: None (default, paper/code): the raw gate. ``'mean'``: the gate is divided by
            its mean over channels (per sample), so it can move weight between channels but not
            scale the whole term down; the term grows by about (1 / mean gate)^2 (2.2x at init
            with the shared gate, mean 0.68). A project option, not in the paper or the code.
        detach_fused: True (default; the paper's "stop-gradient targets"): F^f is detached, so
            this loss sends no gradient into the fusion modules. False = released code (both sides
            are pulled together).
        loss_weight: multiplies the loss (w_akd; 0.5 in every released config).

    Shapes: ``forward(unimodal_feats, fused_feats)`` with ``unimodal_feats`` a list (one per
    modality) of lists of S maps (B, C_i, H_i, W_i) and ``fused_feats`` a list of S maps.
    Returns a scalar. ``gate(m, i, fm, ff)`` returns the (normalised) gate (B, C_i).
    """

    def __init__(
        self,
        stage_channels: Sequence[int],
        num_modalities: int = 2,
        reduction: int = 16,
        alpha: str = 'learned',
        gate_mlps: str = 'shared',
        detach_gate: bool = False,
        gate_norm: Optional[str] = None,
        detach_fused: bool = True,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        if alpha not in ('learned', 'random'):
            raise ValueError(f"alpha must be 'learned' or 'random', got {alpha!r}")
        if gate_mlps not in GATE_MLPS:
            raise ValueError(f'gate_mlps must be one of {GATE_MLPS}, got {gate_mlps!r}')
        if gate_norm not in GATE_NORMS:
            raise ValueError(f'gate_norm must be one of {GATE_NORMS}, got {gate_norm!r}')
        self.stage_channels = [int(c) for c in stage_channels]
        self.num_modalities = int(num_modalities)
        self.reduction = int(reduction)
        self.alpha = alpha
        self.gate_mlps = gate_mlps
        self.detach_gate = bool(detach_gate)
        self.gate_norm = gate_norm
        self.detach_fused = detach_fused
        self.loss_weight = float(loss_weight)
        if alpha != 'learned':
            return
        if gate_mlps == 'shared':
            # [i] -> p_i, applied to both descriptors of every modality
            self.mlps = nn.ModuleList([_mlp(c, self.reduction) for c in self.stage_channels])
        else:
            # [m][i] -> MLP on the unimodal / fused descriptor
            self.mlps_uni = nn.ModuleList(
                [
                    nn.ModuleList([_mlp(c, self.reduction) for c in self.stage_channels])
                    for _ in range(self.num_modalities)
                ]
            )
            self.mlps_fused = nn.ModuleList(
                [
                    nn.ModuleList([_mlp(c, self.reduction) for c in self.stage_channels])
                    for _ in range(self.num_modalities)
                ]
            )

    def gate(self, m: int, i: int, fm: torch.Tensor, ff: torch.Tensor) -> torch.Tensor:
        """Channel gate a_i^m (B, C_i): in (0, 1), or with mean 1 over C_i (``gate_norm='mean'``);
        detached when ``detach_gate``."""
        c = fm.shape[1]
        if self.alpha == 'random':  # released behaviour: a new random MLP on every call
            p_mlp = q_mlp = _mlp(c, self.reduction).to(fm.device, fm.dtype)
        elif self.gate_mlps == 'shared':
            p_mlp = q_mlp = self.mlps[i]
        else:
            p_mlp, q_mlp = self.mlps_uni[m][i], self.mlps_fused[m][i]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.detach_gate):
            p = F.normalize(p_mlp(_pool(fm)), dim=1)
            q = F.normalize(q_mlp(_pool(ff)), dim=1)
            a = torch.sigmoid(c * p * q)
            if self.gate_norm == 'mean':
                a = a / a.mean(dim=1, keepdim=True)
        return a.detach() if self.detach_gate else a

    def forward(
        self, unimodal_feats: Sequence[Sequence[torch.Tensor]], fused_feats: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        if len(unimodal_feats) != self.num_modalities:
            raise ValueError(
                f'CMDRFeatureLoss was built for {self.num_modalities} modalities, got '
                f'{len(unimodal_feats)}'
            )
        num_stages = len(fused_feats)
        if num_stages != len(self.stage_channels):
            raise ValueError(
                f'CMDRFeatureLoss was built for {len(self.stage_channels)} stages, got {num_stages}'
            )
        total = fused_feats[0].new_zeros(())
        for m, feats in enumerate(unimodal_feats):
            for i, (fm, ff) in enumerate(zip(feats, fused_feats)):
                if fm.shape != ff.shape:
                    raise ValueError(
                        f'stage {i}: unimodal map {tuple(fm.shape)} and fused map '
                        f'{tuple(ff.shape)} differ'
                    )
                if self.detach_fused:
                    ff = ff.detach()
                a = self.gate(m, i, fm, ff)[:, :, None, None]
                total = total + F.mse_loss(a * fm, a * ff) / num_stages
        return self.loss_weight * total


@MODELS.register_module()
class CMDRLogitLoss(nn.Module):
    """CMDR logit part: cross-entropy of each unimodal head against the fused head's argmax.

    Args:
        mask_void: True (default, docs/methods/rtfdnet.md (e).4): pixels whose ground truth is
            ``ignore_index`` are excluded. False = released code (``M_CrossEntropyLoss`` passes
            ignore_index=255 but argmax labels are never 255, so void/padded pixels count).
        ignore_index: void label value.
        loss_weight: w_mce (1.0 in the B2 configs).
        class_weight: per-class weights (K,) of the pseudo-label CE, weighted by the *target*
            (fused argmax) class and normalised by the summed weights of the counted pixels, as
            ``F.cross_entropy(weight=...)`` does. None = unweighted (the paper and the released
            code). :class:`RTFDNet` passes the class weights of its supervised decode loss by
            default (``mce_class_weight='supervised'``; None when that loss has none): with a
            class-weighted supervised CE, an unweighted pseudo-label CE against the (mostly
            background) fused prediction pulls the unimodal heads back to the majority class.

    ``forward(unimodal_logits, fused_logits, gt=None)``: a list of (B, K, H, W), one (B, K, H, W)
    and (B, H, W) labels. Each modality's CE is the (weighted) mean over counted pixels; the
    modalities are summed. The target is ``argmax`` of the fused logits, so no gradient reaches
    the fused branch.
    """

    def __init__(
        self,
        mask_void: bool = True,
        ignore_index: int = 255,
        loss_weight: float = 1.0,
        class_weight: Optional[Sequence[float]] = None,
    ):
        super().__init__()
        self.mask_void = mask_void
        self.ignore_index = ignore_index
        self.loss_weight = float(loss_weight)
        self.register_buffer('class_weight', _class_weight_buffer(class_weight), persistent=False)

    def forward(
        self,
        unimodal_logits: Sequence[torch.Tensor],
        fused_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        b, _, h, w = fused_logits.shape
        valid = _valid_mask(gt, (b, h, w), self.ignore_index, self.mask_void, fused_logits.device)
        target = fused_logits.detach().argmax(dim=1)
        pixel_w = valid.to(fused_logits.dtype)
        cw = _target_weights(self.class_weight, target, fused_logits.shape[1], fused_logits)
        if cw is not None:
            pixel_w = pixel_w * cw
        n = pixel_w.sum()
        total = fused_logits.new_zeros(())
        for z in unimodal_logits:
            if z.shape != fused_logits.shape:
                raise ValueError(
                    f'unimodal logits {tuple(z.shape)} and fused logits '
                    f'{tuple(fused_logits.shape)} differ'
                )
            ce = F.cross_entropy(z, target, reduction='none')
            total = total + (ce * pixel_w).sum() / n.clamp(min=1e-12)
        return self.loss_weight * total


@MODELS.register_module()
class RDRLoss(nn.Module):
    """RDR: class-selective L1 consistency of each unimodal head with the (detached) fused head.

    Per modality m and counted pixel p: ``sum_k M^m_kp |Z^m_kp - sg(Z^f_kp)|`` with M^m the one-hot
    of the unimodal argmax (only the channel of the class the unimodal head predicts); summed over
    pixels and divided by ``K * #counted pixels`` (with every pixel counted this is the released
    code's mean over B, K, H, W); modalities summed. With ``class_weight`` w, pixel p counts with
    weight ``w[argmax_k Z^f_kp]`` (the fused head's class, the target class of
    :class:`CMDRLogitLoss`) and the denominator is ``K * sum_p w_p`` (all-ones w = unweighted).

    Args:
        conf_thr: count only pixels where the fused head's max softmax probability is
            >= ``conf_thr`` (the paper's "confident regions"; 0 = released code, every pixel).
        mask_void: exclude ``ignore_index`` pixels of ``gt`` (default; the code includes them).
        ignore_index: void label value.
        loss_weight: w_rdr (1.0 in every released config).
        class_weight: per-class weights (K,) as above; None (default) = unweighted, the paper
            and the released code (neither weights RDR by class). :class:`RTFDNet` exposes it
            as ``rdr_class_weight`` (default None; ``'supervised'`` takes the supervised decode
            loss's class weights).

    ``forward(unimodal_logits, fused_logits, gt=None)`` as :class:`CMDRLogitLoss`. The fused
    logits are detached: no gradient reaches the fused branch.
    """

    def __init__(
        self,
        conf_thr: float = 0.0,
        mask_void: bool = True,
        ignore_index: int = 255,
        loss_weight: float = 1.0,
        class_weight: Optional[Sequence[float]] = None,
    ):
        super().__init__()
        if not 0.0 <= conf_thr <= 1.0:
            raise ValueError(f'conf_thr must be in [0, 1], got {conf_thr}')
        self.conf_thr = float(conf_thr)
        self.mask_void = mask_void
        self.ignore_index = ignore_index
        self.loss_weight = float(loss_weight)
        self.register_buffer('class_weight', _class_weight_buffer(class_weight), persistent=False)

    def forward(
        self,
        unimodal_logits: Sequence[torch.Tensor],
        fused_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        zf = fused_logits.detach()
        b, k, h, w = zf.shape
        valid = _valid_mask(gt, (b, h, w), self.ignore_index, self.mask_void, zf.device)
        if self.conf_thr > 0:
            valid = valid & (zf.softmax(dim=1).amax(dim=1) >= self.conf_thr)
        pixel_w = valid.to(zf.dtype)
        cw = _target_weights(self.class_weight, zf.argmax(dim=1), k, zf)
        if cw is not None:
            pixel_w = pixel_w * cw
            denom = (pixel_w.sum() * k).clamp(min=1e-12)
        else:
            denom = (valid.sum() * k).clamp(min=1)
        total = zf.new_zeros(())
        for z in unimodal_logits:
            if z.shape != zf.shape:
                raise ValueError(
                    f'unimodal logits {tuple(z.shape)} and fused logits {tuple(zf.shape)} differ'
                )
            onehot = F.one_hot(z.detach().argmax(dim=1), k).permute(0, 3, 1, 2).to(z.dtype)
            diff = (onehot * (z - zf)).abs().sum(dim=1)
            total = total + (diff * pixel_w).sum() / denom
        return self.loss_weight * total
