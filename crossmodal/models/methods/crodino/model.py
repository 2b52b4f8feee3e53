"""``CroDiNoKD``: teacher-free co-training of an RGB and a depth SegFormer (CroDiNo-KD,
reconstruction).

Paper: Ferrod et al., "Revisiting Cross-Modal Knowledge Distillation: A Disentanglement Approach for
RGBD Semantic Segmentation", arXiv 2505.24361 (ECML-PKDD 2025). The authors' code could not be
obtained: everything below except the facts "two single-modality encoder-decoders + one auxiliary
decoder, invariant/specific split, contrastive learning, decoupled augmentation, no teacher" is a
**reconstruction** (docs/methods/crodino.md (b), §3(e), §8).

Models (one per modality, each a STOCK mmseg ``EncoderDecoder`` SegFormer built from its own config,
e.g. ``configs/students/segformer_mit-t_600it_synthetic-rgbd-128x160.py`` and the depth-only twin):

* Split (reconstruction, ``split_level='head'``): the stock ``SegformerHead.fusion_conv`` (1x1 conv
  4C -> C + BN + ReLU on the concatenated multi-level features) output is split along channels into
  ``z_inv = z[:, :z_dim]`` and ``z_spe = z[:, z_dim:]`` (``z_dim = C/2`` by default). This *is* two
  1x1 conv+BN+ReLU projectors P_inv / P_spe on the same input, and the head's ``conv_seg`` on
  ``concat(z_inv, z_spe)`` is the main decoder D_m. Each model therefore stays a stock SegFormer and
  exports without conversion. ``z`` is recorded by
  a :class:`~crossmodal.models.distill.taps.TapRecorder` tap on ``decode_head.fusion_conv`` (stride
  4, pre-dropout).
* Shared auxiliary decoder D_aux (reconstruction: light head) :class:`CroDiNoAuxHead` on ``z_inv``
  of both models, with the first model's ``loss_decode`` (class weights, ignore index).

Loss (logged per term; docs/methods/crodino.md (b))::

    sum_m [ CE(Y_m) + lambda_aux * CE(D_aux(z_inv^m)) ]            m.decode.loss_ce, aux_m.loss_ce
  + lambda_con  * PixelInfoNCE(z_inv^rgb, z_inv^depth)              loss_con
  + lambda_orth * sum_m mean_pixels cos^2(z_inv^m, z_spe^m)         loss_orth_m
  (+ lambda_mod * CE(modality | pooled z_spe^m), optional, off)     loss_mod

Input routing reuses the distillation engine (:mod:`crossmodal.models.distill.routing`): the
dataloader packs raw modalities (``PackMultiModalInputs(stack=False)``), a
``MultiModalDataPreprocessor`` normalises each modality once (its default takes every modality's
mean/std from its consuming model and the first model's padding), and each model receives exactly
its modalities re-expressed in its own ``SegDataPreProcessor`` normalisation -- for the RGB model
this is bit-identical to what its stock pre-processor would produce, so the exported model is the
trained one.

``predict`` writes ``pred_sem_seg`` / ``seg_logits`` of the model named by ``branch`` and
``pred_sem_seg_<name>`` for every model (``MultiHeadIoUMetric(heads=dict(rgb='pred_sem_seg_rgb',
depth='pred_sem_seg_depth'))`` scores both every validation).
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import ModuleDict
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from crossmodal.models.base import ModeDispatchModel, stack_labels
from crossmodal.models.distill.distill_segmentor import model_config
from crossmodal.models.distill.routing import (
    ModalityNorm,
    default_distill_preprocessor,
    stock_model_input,
    student_norms,
    teacher_norms,
)
from crossmodal.models.distill.taps import TapRecorder

from .losses import ModalityClassifier, OrthogonalityLoss, PixelInfoNCELoss

SPLIT_TAP = 'decode_head.fusion_conv'


@MODELS.register_module()
class CroDiNoKD(ModeDispatchModel):
    """Two co-trained single-modality SegFormers with invariant/specific features (reconstruction).

    Args:
        models: ``{name: config path or model dict}`` of exactly two stock mmseg segmentors
            (``EncoderDecoder`` + ``SegformerHead`` + ``SegDataPreProcessor``); the first is the
            "main" one (RGB). Built in this order, the first one outside a forked RNG, so for one
            seed its initial weights equal those of its stand-alone twin.
        model_modalities: ``{name: modalities}`` fed to each model (concatenated in order);
            default ``(name, )``, i.e. ``rgb`` -> ('rgb', ), ``depth`` -> ('depth', ).
        z_dim: channels of z_inv (the first ``z_dim`` channels of ``fusion_conv``); default C/2.
            The orthogonality loss needs ``z_dim = C/2``.
        lambda_aux, lambda_con, lambda_orth, lambda_mod: loss weights (docs/methods/crodino.md
            defaults: 1, 1, 1, off).
            A weight of 0 skips the term (and builds no auxiliary head / modality classifier).
        contrastive: :class:`PixelInfoNCELoss` kwargs (``tau``, ``pixels_per_img``,
            ``stride_factor``).
        aux_head: extra :class:`CroDiNoAuxHead` kwargs (default ``dropout_ratio=0.1``); its
            ``loss_decode`` defaults to the first model's.
        branch: model whose prediction is ``pred_sem_seg`` (validation's main mIoU, tensor mode).
        modality_channels: channel counts per modality when not the defaults (rgb 3, depth 1, ...).
        data_preprocessor: ``MultiModalDataPreprocessor`` config; None builds the default (above).
        init_cfg: mmengine init config.
    """

    def __init__(
        self,
        models: Dict[str, Union[str, dict]],
        model_modalities: Optional[Dict[str, Sequence[str]]] = None,
        z_dim: Optional[int] = None,
        lambda_aux: float = 1.0,
        lambda_con: float = 1.0,
        lambda_orth: float = 1.0,
        lambda_mod: float = 0.0,
        contrastive: Optional[dict] = None,
        aux_head: Optional[dict] = None,
        branch: Optional[str] = None,
        modality_channels: Optional[Dict[str, int]] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        names = tuple(models or {})
        if len(names) != 2:
            raise ValueError(
                f'CroDiNoKD co-trains exactly two models (e.g. models=dict(rgb=..., '
                f'depth=...)), got {list(names)}'
            )
        for n in names:
            if not n or '.' in n:
                raise ValueError(f'model name {n!r} must be non-empty and contain no "."')
        scope = None if DefaultScope.get_current_instance() is not None else 'mmseg'
        with DefaultScope.overwrite_default_scope(scope):
            cfgs = {n: model_config(models[n], f'model "{n}"') for n in names}
            built = {names[0]: MODELS.build(cfgs[names[0]])}
            with torch.random.fork_rng(devices=[]):
                built[names[1]] = MODELS.build(cfgs[names[1]])
                heads = {n: self._check_stock(n, m) for n, m in built.items()}
                channels = {n: h.channels for n, h in heads.items()}
                if len(set(channels.values())) != 1:
                    raise ValueError(
                        f'CroDiNoKD: both heads need the same channels (shared auxiliary '
                        f'decoder and contrast on z_inv), got {channels}'
                    )
                c = channels[names[0]]
                z_dim = int(z_dim) if z_dim is not None else c // 2
                if not 0 < z_dim < c:
                    raise ValueError(f'CroDiNoKD: z_dim must be in (0, {c}), got {z_dim}')
                if lambda_orth and 2 * z_dim != c:
                    raise ValueError(
                        f'CroDiNoKD: the orthogonality loss compares z_inv ({z_dim} ch) and '
                        f'z_spe ({c - z_dim} ch) pixel-wise: use z_dim={c // 2} or lambda_orth=0'
                    )
                classes = {n: h.num_classes for n, h in heads.items()}
                if len(set(classes.values())) != 1:
                    raise ValueError(
                        f'CroDiNoKD: both models must predict the same classes, got {classes}'
                    )
                main_head = heads[names[0]]
                aux = dict(
                    type='CroDiNoAuxHead',
                    in_channels=z_dim,
                    num_classes=main_head.num_classes,
                    dropout_ratio=0.1,
                    ignore_index=main_head.ignore_index,
                    align_corners=main_head.align_corners,
                    loss_decode=copy.deepcopy(cfgs[names[0]]['decode_head']['loss_decode']),
                )
                aux.update(dict(aux_head or {}))
                aux_module = MODELS.build(aux) if lambda_aux else None  # unused params break DDP
                con = dict(ignore_index=main_head.ignore_index)
                con.update(dict(contrastive or {}))
                con_loss = PixelInfoNCELoss(**con)
                mod_clf = ModalityClassifier(c - z_dim, len(names)) if lambda_mod else None

        mods = {n: tuple((model_modalities or {}).get(n, (n,))) for n in names}
        norms = {
            n: student_norms(built[n].data_preprocessor, mods[n], modality_channels) for n in names
        }
        if data_preprocessor is None:
            data_preprocessor = default_distill_preprocessor(
                built[names[0]].data_preprocessor, [norms[n] for n in names]
            )
        dp = (
            MODELS.build(dict(data_preprocessor))
            if isinstance(data_preprocessor, dict)
            else data_preprocessor
        )
        super().__init__(data_preprocessor=dp, init_cfg=init_cfg)

        self.names = names
        # registered first: init order as the stand-alone twin; mmengine's ModuleDict, so that
        # init_weights() reaches each model (pretrained backbones, mmseg's default init)
        self.models = ModuleDict(built)
        self.aux_head = aux_module
        self.loss_con = con_loss
        self.loss_orth = OrthogonalityLoss()
        self.modality_classifier = mod_clf
        self.model_modalities = mods
        self.z_dim = z_dim
        self.lambda_aux, self.lambda_con = float(lambda_aux), float(lambda_con)
        self.lambda_orth, self.lambda_mod = float(lambda_orth), float(lambda_mod)
        branch = branch or names[0]
        if branch not in names:
            raise ValueError(f'branch must be one of {list(names)}, got {branch!r}')
        self.branch = branch
        self.dist_norm = ModalityNorm(teacher_norms(dp, [m for n in names for m in mods[n]]))
        self.model_norms = nn.ModuleDict({n: ModalityNorm(norms[n]) for n in names})
        self.channel_flip = {
            n: bool(getattr(built[n].data_preprocessor, 'channel_conversion', False)) for n in names
        }
        self.taps = {n: TapRecorder(built[n], dict(z=SPLIT_TAP), f'model "{n}"') for n in names}

    @property
    def modalities(self) -> tuple:
        """Every modality the run consumes, in model order (e.g. ('rgb', 'depth'))."""
        out = []
        for n in self.names:
            out += [m for m in self.model_modalities[n] if m not in out]
        return tuple(out)

    @staticmethod
    def _check_stock(name: str, model: nn.Module) -> nn.Module:
        head = getattr(model, 'decode_head', None)
        if head is None or not isinstance(getattr(head, 'fusion_conv', None), nn.Module):
            raise ValueError(
                f'CroDiNoKD: model "{name}" ({type(model).__name__}) needs a SegFormer '
                f'decode head with a fusion_conv (got '
                f'{type(head).__name__ if head is not None else None}); the invariant/'
                f'specific split is taken at decode_head.fusion_conv'
            )
        if type(getattr(model, 'data_preprocessor', None)).__name__ != 'SegDataPreProcessor':
            raise ValueError(
                f'CroDiNoKD: model "{name}" must have a stock SegDataPreProcessor so it '
                f'exports as a plain mmseg model'
            )
        return head

    # ------------------------------------------------------------------ routing
    def model_inputs(self, name: str, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, C, H, W) input of model ``name``: its modalities in its own normalisation."""
        if not isinstance(inputs, dict):
            raise TypeError(
                f'CroDiNoKD takes a dict of modalities (PackMultiModalInputs(stack=False) + '
                f'MultiModalDataPreprocessor), got {type(inputs).__name__}'
            )
        missing = [m for m in self.model_modalities[name] if m not in inputs]
        if missing:
            raise KeyError(
                f'model "{name}" needs modalities {self.model_modalities[name]} but the batch '
                f'only has {sorted(inputs)} (missing {missing}); add them to the dataset\'s '
                f'modalities'
            )
        return stock_model_input(
            inputs,
            self.model_modalities[name],
            self.dist_norm,
            self.model_norms[name],
            self.channel_flip[name],
        )

    def split(self, z: torch.Tensor):
        """``(z_inv, z_spe)`` = first ``z_dim`` / remaining channels of the fusion_conv output."""
        return z[:, : self.z_dim], z[:, self.z_dim :]

    # ------------------------------------------------------------------ forward
    def _forward(self, inputs, data_samples=None) -> torch.Tensor:
        """Logits (B, K, H/4, W/4) of the ``branch`` model."""
        return self.models[self.branch]._forward(
            self.model_inputs(self.branch, inputs), data_samples
        )

    def loss(self, inputs, data_samples: List[SegDataSample]) -> Dict[str, torch.Tensor]:
        if not data_samples or not all(hasattr(s, 'gt_sem_seg') for s in data_samples):
            raise ValueError(
                'CroDiNoKD trains on labelled frames: every data sample needs gt_sem_seg'
            )
        losses: Dict[str, torch.Tensor] = {}
        z_inv, z_spe = {}, {}
        for n in self.names:
            rec = self.taps[n]
            rec.clear()
            for k, v in self.models[n].loss(self.model_inputs(n, inputs), data_samples).items():
                losses[f'{n}.{k}'] = v
            z_inv[n], z_spe[n] = self.split(rec.get('z'))
            rec.clear()
        if self.aux_head is not None:
            for n in self.names:
                for k, v in self.aux_head.loss_by_feat(
                    self.aux_head(z_inv[n]), data_samples
                ).items():
                    losses[f'aux_{n}.{k}'] = self.lambda_aux * v if 'loss' in k else v
        if self.lambda_con:
            gt = stack_labels(data_samples)
            a, b = self.names
            losses['loss_con'] = self.lambda_con * self.loss_con(z_inv[a], z_inv[b], gt)
        if self.lambda_orth:
            for n in self.names:
                losses[f'loss_orth_{n}'] = self.lambda_orth * self.loss_orth(z_inv[n], z_spe[n])
        if self.modality_classifier is not None:
            losses['loss_mod'] = self.lambda_mod * self.modality_classifier(
                [z_spe[n] for n in self.names]
            )
        return losses

    # ------------------------------------------------------------------ inference
    @staticmethod
    def _metas(x: torch.Tensor, data_samples) -> List[dict]:
        if data_samples is not None:
            return [s.metainfo for s in data_samples]
        shape = tuple(x.shape[2:])
        return [
            dict(ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
        ] * x.shape[0]

    def predict(
        self, inputs, data_samples: Optional[List[SegDataSample]] = None
    ) -> List[SegDataSample]:
        """``pred_sem_seg`` + ``seg_logits`` of ``branch``; ``pred_sem_seg_<name>`` of every model.

        Each model runs its own stock ``inference`` (whole or slide, per its ``test_cfg``) and
        ``postprocess_result``, i.e. exactly what the exported model does.
        """
        logits = {}
        for n in self.names:
            x = self.model_inputs(n, inputs)
            logits[n] = self.models[n].inference(x, self._metas(x, data_samples))
        main = self.models[self.branch]
        samples = main.postprocess_result(logits[self.branch], data_samples)
        for n in self.names:
            tmp = [SegDataSample(metainfo=s.metainfo) for s in samples]
            tmp = self.models[n].postprocess_result(
                logits[n], tmp if data_samples is not None else None
            )
            for s, t in zip(samples, tmp):
                s.set_data({f'pred_sem_seg_{n}': PixelData(data=t.pred_sem_seg.data)})
        return samples
