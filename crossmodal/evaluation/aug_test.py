"""Multi-scale + flip test-time augmentation for every segmentor (``tools/test.py --aug-test``).

Papers report single-scale (SS) and multi-scale + flip (MS) mIoU (docs/design.md §8; CMX NYU B2:
54.1 SS vs 54.4 MS). mmseg's ``SegTTAModel`` gets its augmented copies from a ``TestTimeAug``
*pipeline* (one packed sample per scale/flip), which resizes with ``mmcv.Resize`` over ``img`` only
and so does not fit our dict inputs (``{'rgb', 'thermal', ...}``, depth resampled nearest). This
wrapper augments at the *model* level instead, so the same code serves the RGB-X teacher
(:class:`MultiModalEncoderDecoder`), :class:`RTFDNet`, distillers (their student) and stock mmseg
students (tensor inputs):

1. the normalised batch from the model's own data preprocessor, every modality resized jointly to
   ``round(s * H) x round(s * W)`` for each scale ``s`` (bilinear; nearest for
   ``nearest_modalities``, default depth), and horizontally flipped when ``flip``;
2. the model's own ``inference`` (whole or slide, per its ``test_cfg``) on that copy: logits
   (B, K, h, w), un-flipped, resized to the input size, padding removed, resized to ``ori_shape``
   (bilinear, the model's ``align_corners``), i.e. exactly what ``postprocess_result`` does;
3. softmax probabilities (sigmoid for a 1-channel head) averaged over all copies at ``ori_shape``.

Output per sample: ``seg_logits`` = the averaged probabilities (K, H, W), ``pred_sem_seg`` = their
argmax (1, H, W); models with several heads (``inference_all``, RTFDNet) also get
``pred_sem_seg_<head>`` for each. With ``scales=(1.0,)`` and ``flip=False`` the prediction equals
the model's single-scale ``predict``.

Checkpoints load into the wrapped model unchanged (mmengine treats :class:`BaseTTAModel` as a
wrapper when loading).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

DEFAULT_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]


def _map_inputs(inputs: Inputs, fn: Callable[[str, torch.Tensor], torch.Tensor]) -> Inputs:
    if isinstance(inputs, dict):
        return {k: fn(k, v) for k, v in inputs.items()}
    return fn('', inputs)


def _first(inputs: Inputs) -> torch.Tensor:
    return next(iter(inputs.values())) if isinstance(inputs, dict) else inputs


def scale_inputs(
    inputs: Inputs,
    size: Tuple[int, int],
    nearest: Sequence[str] = ('depth',),
    align_corners: bool = False,
) -> Inputs:
    """Resize (B, C, H, W) inputs (a tensor or ``{modality: tensor}``) to ``size`` = (h, w)
    jointly."""

    def one(name, x):
        if tuple(x.shape[2:]) == tuple(size):
            return x
        if name in nearest:
            return F.interpolate(x, size=size, mode='nearest')
        return F.interpolate(x, size=size, mode='bilinear', align_corners=align_corners)

    return _map_inputs(inputs, one)


def flip_inputs(inputs: Inputs) -> Inputs:
    """Horizontal flip of (B, C, H, W) inputs (tensor or dict)."""
    return _map_inputs(inputs, lambda _, x: x.flip(dims=(3,)))


@MODELS.register_module()
class MultiScaleFlipAugModel(BaseTTAModel):
    """Average softmax probabilities over scales and horizontal flips (see module docstring).

    Args:
        module: the segmentor (config dict or module): anything with ``inference(inputs,
            batch_img_metas)`` (mmseg ``EncoderDecoder`` and ours), ``inference_all`` (RTFDNet), or
            a distiller with ``student`` + ``student_inputs`` (predicts with its student).
        scales: resize ratios of the input (1.0 = as loaded by the test pipeline).
        flip: also run each scale horizontally flipped.
        nearest_modalities: modalities resized nearest-neighbour (depth: no blending across holes).
        data_preprocessor: ignored: the wrapped model's own preprocessor is always used. (mmengine's
            Runner passes the config's top-level ``data_preprocessor`` to the outer model; for our
            configs that is the model base's RGB-only default, which would leave the other
            modalities unnormalised.)
    """

    def __init__(
        self,
        module: Union[dict, torch.nn.Module],
        scales: Sequence[float] = DEFAULT_SCALES,
        flip: bool = True,
        nearest_modalities: Sequence[str] = ('depth',),
        data_preprocessor: Optional[dict] = None,
    ):
        if isinstance(module, dict):
            module = MODELS.build(module)
        super().__init__(module=module)
        scales = tuple(float(s) for s in scales)
        if not scales or min(scales) <= 0:
            raise ValueError(
                f'MultiScaleFlipAugModel: scales must be positive ratios, got {scales}'
            )
        self.scales = scales
        self.flip = bool(flip)
        self.nearest_modalities = tuple(nearest_modalities)
        self._segmentor()  # fail at build time for an unsupported model

    # ------------------------------------------------------------------ model access
    def _segmentor(self) -> Tuple[Callable[[Inputs], Inputs], torch.nn.Module]:
        """(input routing, segmentor whose inference gives the prediction)."""
        m = self.module
        if hasattr(m, 'student') and hasattr(m, 'student_inputs'):
            return m.student_inputs, m.student
        if hasattr(m, 'inference') or hasattr(m, 'inference_all'):
            return (lambda x: x), m
        raise TypeError(
            f'MultiScaleFlipAugModel: {type(m).__name__} has no inference(inputs, metas) '
            f'(nor inference_all, nor a student); aug-test supports mmseg EncoderDecoder-style '
            f'segmentors, RTFDNet and DistillSegmentor'
        )

    def _logits(
        self, seg: torch.nn.Module, inputs: Inputs, metas: List[dict]
    ) -> Dict[str, torch.Tensor]:
        """{output field: (B, K, h, w) logits at the size of ``inputs``}."""
        if hasattr(seg, 'inference_all'):
            heads = seg.inference_all(inputs, metas)
            out = {'pred_sem_seg': heads[seg.branch]}
            out.update({f'pred_sem_seg_{k}': v for k, v in heads.items()})
            return out
        return {'pred_sem_seg': seg.inference(inputs, metas)}

    # ------------------------------------------------------------------ steps
    def test_step(self, data) -> List[SegDataSample]:
        data = self.module.data_preprocessor(data, False)
        return self.predict(data['inputs'], data.get('data_samples'))

    val_step = test_step

    def merge_preds(self, data_samples_list):  # pragma: no cover - augmentation is done in predict
        raise NotImplementedError(
            'MultiScaleFlipAugModel augments in predict(); it takes one '
            'un-augmented batch, not TestTimeAug copies'
        )

    def forward(self, inputs, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise ValueError(f'MultiScaleFlipAugModel only predicts, got mode={mode!r}')
        return self.predict(inputs, data_samples)

    # ------------------------------------------------------------------ prediction
    def _to_ori(self, logits: torch.Tensor, meta: dict, align_corners: bool) -> torch.Tensor:
        """(1, K, Hp, Wp) at input size -> (K, H, W) at ``ori_shape`` (as
        ``postprocess_result``)."""
        _, _, H, W = logits.shape
        pad = meta.get('img_padding_size', meta.get('padding_size', [0, 0, 0, 0]))
        left, right, top, bottom = pad
        logits = logits[:, :, top : H - bottom, left : W - right]
        if meta.get('flip', False):  # flipped by the test pipeline itself
            logits = logits.flip(dims=(3,) if meta.get('flip_direction') == 'horizontal' else (2,))
        return resize(
            logits,
            size=meta['ori_shape'],
            mode='bilinear',
            align_corners=align_corners,
            warning=False,
        ).squeeze(0)

    def predict(
        self, inputs: Inputs, data_samples: Optional[List[SegDataSample]] = None
    ) -> List[SegDataSample]:
        """Averaged prediction of a normalised batch (see module docstring)."""
        route, seg = self._segmentor()
        x = route(inputs)
        first = _first(x)
        B, in_hw = first.shape[0], tuple(first.shape[2:])
        if data_samples is None:
            data_samples = [
                SegDataSample(
                    metainfo=dict(
                        ori_shape=in_hw, img_shape=in_hw, pad_shape=in_hw, padding_size=[0, 0, 0, 0]
                    )
                )
                for _ in range(B)
            ]
        metas = [s.metainfo for s in data_samples]
        align = bool(getattr(seg, 'align_corners', False))
        probs: Dict[str, List[Optional[torch.Tensor]]] = {}
        n = 0
        for s in self.scales:
            size = (int(round(in_hw[0] * s)), int(round(in_hw[1] * s)))
            xs = scale_inputs(x, size, self.nearest_modalities, align_corners=align)
            for flipped in (False, True) if self.flip else (False,):
                xi = flip_inputs(xs) if flipped else xs
                # the copy is a whole new image of `size`: no padding, no pipeline flip inside
                m_s = [
                    dict(m, img_shape=size, pad_shape=size, padding_size=[0, 0, 0, 0], flip=False)
                    for m in metas
                ]
                m_s = [{k: v for k, v in m.items() if k != 'img_padding_size'} for m in m_s]
                for field, lg in self._logits(seg, xi, m_s).items():
                    if flipped:
                        lg = lg.flip(dims=(3,))
                    if tuple(lg.shape[2:]) != in_hw:
                        lg = resize(
                            lg, size=in_hw, mode='bilinear', align_corners=align, warning=False
                        )
                    acc = probs.setdefault(field, [None] * B)
                    for i in range(B):
                        p = self._to_ori(lg[i : i + 1], metas[i], align)
                        p = p.softmax(dim=0) if p.shape[0] > 1 else p.sigmoid()
                        acc[i] = p if acc[i] is None else acc[i] + p
                n += 1
        thr = getattr(getattr(seg, 'decode_head', None), 'threshold', 0.5)
        for i, sample in enumerate(data_samples):
            for field, acc in probs.items():
                p = acc[i] / n
                pred = p.argmax(dim=0, keepdim=True) if p.shape[0] > 1 else (p > thr).to(p)
                sample.set_data({field: PixelData(data=pred)})
                if field == 'pred_sem_seg':
                    sample.set_data({'seg_logits': PixelData(data=p)})
        return data_samples


def wrap_config(
    model_cfg: dict, scales: Sequence[float] = DEFAULT_SCALES, flip: bool = True
) -> dict:
    """``cfg.model`` -> the config of :class:`MultiScaleFlipAugModel` around it."""
    return dict(type='MultiScaleFlipAugModel', module=model_cfg, scales=list(scales), flip=flip)


def unwrap_config(model_cfg: dict) -> dict:
    """The wrapped model's config (``model_cfg`` itself when it is not wrapped)."""
    while isinstance(model_cfg, dict) and model_cfg.get('type') == 'MultiScaleFlipAugModel':
        model_cfg = model_cfg['module']
    return model_cfg
