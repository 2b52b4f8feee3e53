"""``MultiModalDataPreprocessor``: per-modality normalisation, padding and batching."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS
from mmseg.utils import stack_batch


@MODELS.register_module()
class MultiModalDataPreprocessor(BaseDataPreprocessor):
    """Normalise each modality with its own mean/std and batch them.

    Input (from :class:`PackMultiModalInputs` via the dataloader): ``inputs`` a list of
    ``{name: (C, H, W) tensor}`` dicts, ``data_samples`` a list of ``SegDataSample``.
    Output: ``inputs = {name: (B, C, H, W) float tensor}`` and the data samples (labels padded
    with ``seg_pad_val`` in training).

    Args:
        mean, std: ``{name: [per-channel values]}`` in the units the loader produces (RGB 0-255,
            depth metres, thermal stored units). A modality without an entry is passed through
            as float. Channel counts must match the data (checked, with a clear error).
        size / size_divisor: training pad target, as in mmseg's ``SegDataPreProcessor`` (one of
            them, or neither when all crops share one size).
        pad_val: {name: value} pad value *after* normalisation (default 0).
        seg_pad_val: label pad value (255 = ignore).
        test_cfg: ``dict(size_divisor=32)`` or ``dict(size=(h, w))`` to pad at test time.
        keep_modalities: only these modalities are normalised and batched, the others are dropped
            from the output (None: all). A distiller training from a teacher cache sets it to the
            student's modalities: the teacher's extra modalities are still loaded (so the
            augmentations draw the same random numbers as online) but cost no step time.
    """

    def __init__(
        self,
        mean: Optional[Dict[str, Sequence[float]]] = None,
        std: Optional[Dict[str, Sequence[float]]] = None,
        size: Optional[Sequence[int]] = None,
        size_divisor: Optional[int] = None,
        pad_val: Optional[Dict[str, float]] = None,
        seg_pad_val: int = 255,
        test_cfg: Optional[dict] = None,
        keep_modalities: Optional[Sequence[str]] = None,
    ):
        super().__init__()
        self.keep_modalities = tuple(keep_modalities) if keep_modalities is not None else None
        mean, std = dict(mean or {}), dict(std or {})
        if set(mean) != set(std):
            raise ValueError(
                f'mean and std must name the same modalities: {sorted(mean)} vs {sorted(std)}'
            )
        for name in mean:
            m = torch.tensor(mean[name], dtype=torch.float32).view(-1, 1, 1)
            s = torch.tensor(std[name], dtype=torch.float32).view(-1, 1, 1)
            if m.numel() != s.numel():
                raise ValueError(f'mean/std of "{name}" have different lengths')
            self.register_buffer(f'mean_{name}', m, persistent=False)
            self.register_buffer(f'std_{name}', s, persistent=False)
        self.modality_names = tuple(mean)
        self.size = tuple(size) if size is not None else None
        self.size_divisor = size_divisor
        self.pad_val = dict(pad_val or {})
        self.seg_pad_val = seg_pad_val
        self.test_cfg = test_cfg

    def normalize(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """(C, H, W) or (B, C, H, W) -> float, normalised with the modality's mean/std."""
        x = x.float()
        if name not in self.modality_names:
            return x
        m, s = getattr(self, f'mean_{name}'), getattr(self, f'std_{name}')
        c = x.shape[-3]
        if m.shape[0] != c:
            raise ValueError(
                f'modality "{name}" has {c} channel(s) but the data preprocessor has '
                f'{m.shape[0]} mean/std value(s) for it'
            )
        return (x - m) / s

    def _kept(self, per_mod: Dict[str, Any]) -> Dict[str, Any]:
        if self.keep_modalities is None:
            return per_mod
        missing = [m for m in self.keep_modalities if m not in per_mod]
        if missing:
            raise ValueError(
                f'the batch lacks modalities {missing} (it has {sorted(per_mod)}); the pipeline '
                f'must load them'
            )
        return {m: per_mod[m] for m in self.keep_modalities}

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        batch = data['inputs']
        samples = data.get('data_samples', None)
        # pseudo_collate turns the per-sample dicts into {name: [tensor, ...]}; a model called
        # directly may pass {name: (B, C, H, W)} or a list of per-sample dicts.
        if isinstance(batch, dict):
            if all(isinstance(v, torch.Tensor) and v.dim() == 4 for v in batch.values()):
                return dict(
                    inputs={k: self.normalize(k, v) for k, v in self._kept(batch).items()},
                    data_samples=samples,
                )
            per_mod = {k: list(v) for k, v in batch.items()}
        elif isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], dict):
            per_mod = {k: [item[k] for item in batch] for k in batch[0]}
        else:
            raise TypeError(
                'MultiModalDataPreprocessor expects dict inputs {modality: tensor}; got '
                f'{type(batch).__name__}. Pack samples with PackMultiModalInputs(stack=False), or '
                'use SegDataPreProcessor for single-tensor (student) inputs.'
            )
        out: Dict[str, torch.Tensor] = {}
        for i, (name, items) in enumerate(self._kept(per_mod).items()):
            xs = [self.normalize(name, x) for x in items]
            pad = self.pad_val.get(name, 0)
            if training:
                if samples is None:
                    raise ValueError('data_samples are required in training')
                stacked, padded = stack_batch(
                    xs,
                    samples if i == 0 else None,
                    size=self.size,
                    size_divisor=self.size_divisor,
                    pad_val=pad,
                    seg_pad_val=self.seg_pad_val,
                )
                if i == 0:
                    samples = padded
                out[name] = stacked
            else:
                if self.test_cfg:
                    stacked, pad_info = stack_batch(
                        xs,
                        size=self.test_cfg.get('size'),
                        size_divisor=self.test_cfg.get('size_divisor'),
                        pad_val=pad,
                        seg_pad_val=self.seg_pad_val,
                    )
                    if i == 0 and samples is not None:
                        for s, info in zip(samples, pad_info):
                            s.set_metainfo({**info})
                    out[name] = stacked
                else:
                    shapes = {tuple(x.shape[1:]) for x in xs}
                    if len(shapes) > 1:
                        raise ValueError(
                            f'images of one test batch differ in size {sorted(shapes)}: use '
                            f'batch_size=1 or test_cfg=dict(size_divisor=...)'
                        )
                    out[name] = torch.stack(xs, 0)
        return dict(inputs=out, data_samples=samples)
