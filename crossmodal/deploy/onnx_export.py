"""Export a single-modality student to ONNX with a JSON sidecar (read by :mod:`crossmodal_runtime`).

Graph contract: input ``input`` float32 (B, 3, h, w), **raw RGB in 0-255** (normalisation, and a
channel flip for a network trained on BGR, are baked into the graph); output ``logits`` float32
(B, K, h, w): the decode head's logits bilinearly upsampled to the input resolution (what mmseg's
``EncoderDecoder.encode_decode`` returns for an unpadded image). Pre/post-processing around the
graph (resize or pad, then unresize/crop) is stated in :mod:`crossmodal_runtime.processing`.

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)`` (no ``onnxscript``
needed), opset 17. ``torch.nn.MultiheadAttention`` (used by mmseg's MiT attention) traces the batch
and sequence lengths into constant ``Reshape`` shapes, so a ``--dynamic`` graph would fail at any
other input size; :func:`make_exportable` therefore swaps each ``nn.MultiheadAttention`` of a copy
of the model for :class:`ShapeAgnosticMHA`, the same computation written with shape-independent
reshapes (sharing the weights). The parity tests check the exported graph against mmseg's own
``encode_decode`` on the original model.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from crossmodal_runtime.spec import FORMAT, VERSION, sidecar_path, validate_spec
from .student import StudentInfo

__all__ = [
    'ShapeAgnosticMHA',
    'StudentGraph',
    'make_exportable',
    'build_spec',
    'export_onnx',
    'OPSET',
]

OPSET = 17


class ShapeAgnosticMHA(nn.Module):
    """Drop-in for an inference-mode ``nn.MultiheadAttention`` (sequence-first, no masks), written
    without shape constants so traced graphs stay valid for any batch and sequence length.

    Shares the parameters of ``mha``. Inputs (Lq, B, C), (Lk, B, C), (Lk, B, C); returns
    ``(out (Lq, B, C), None)`` like ``need_weights=False``. Attention dropout is not applied
    (export is inference only).
    """

    def __init__(self, mha: nn.MultiheadAttention) -> None:
        super().__init__()
        if not mha._qkv_same_embed_dim or mha.bias_k is not None or mha.add_zero_attn:
            raise NotImplementedError(
                'ShapeAgnosticMHA supports the plain attention of MiT only '
                '(same q/k/v dims, no bias_k/bias_v, no add_zero_attn)'
            )
        self.batch_first = mha.batch_first
        self.num_heads = mha.num_heads
        self.head_dim = mha.head_dim
        self.in_proj_weight = mha.in_proj_weight
        self.in_proj_bias = mha.in_proj_bias
        self.out_proj = mha.out_proj

    def _heads(self, t: torch.Tensor) -> torch.Tensor:  # (B, L, C) -> (B, h, L, d)
        return t.unflatten(2, (self.num_heads, self.head_dim)).transpose(1, 2)

    def forward(
        self, query, key, value, key_padding_mask=None, need_weights=False, attn_mask=None, **kwargs
    ):
        if key_padding_mask is not None or attn_mask is not None:
            raise NotImplementedError('ShapeAgnosticMHA does not take masks')
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = (
            self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None, None, None)
        )
        q = self._heads(F.linear(query, w_q, b_q))
        k = self._heads(F.linear(key, w_k, b_k))
        v = self._heads(F.linear(value, w_v, b_v))
        attn = torch.softmax(torch.matmul(q * (self.head_dim**-0.5), k.transpose(-2, -1)), dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).flatten(2)  # (B, Lq, C)
        out = self.out_proj(out)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, None


def make_exportable(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` (eval mode) with every ``nn.MultiheadAttention`` swapped for
    :class:`ShapeAgnosticMHA`; the original model is not modified."""
    model = copy.deepcopy(model).eval()
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.MultiheadAttention):
                setattr(module, child_name, ShapeAgnosticMHA(child))
    return model.eval()


class StudentGraph(nn.Module):
    """raw RGB (B, 3, h, w) float32 in 0-255 -> logits (B, K, h, w) of an mmseg EncoderDecoder.

    Args:
        model: the student (``extract_feat`` + ``decode_head``).
        mean / std: 3 values in 0-255 units, in the network's channel order.
        network_channel_order: 'RGB' (input passes through) or 'BGR' (the graph flips channels).
    """

    def __init__(
        self,
        model: nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        network_channel_order: str = 'RGB',
    ) -> None:
        super().__init__()
        if network_channel_order not in ('RGB', 'BGR'):
            raise ValueError(
                f'network_channel_order must be RGB or BGR, got {network_channel_order!r}'
            )
        self.model = model
        self.flip = network_channel_order == 'BGR'
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.align_corners = bool(getattr(model.decode_head, 'align_corners', False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.flip:
            x = torch.flip(x, dims=[1])
        x = (x - self.mean) / self.std
        logits = self.model.decode_head(self.model.extract_feat(x))
        return F.interpolate(
            logits, size=x.shape[2:], mode='bilinear', align_corners=self.align_corners
        )


def build_spec(
    info: StudentInfo,
    input_size: Optional[Tuple[int, int]],
    dynamic: bool,
    extra: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """The sidecar dict (schema: :mod:`crossmodal_runtime.spec`)."""
    mean, std = list(info.mean), list(info.std)
    if info.network_channel_order == 'BGR':  # report them in the graph input's (RGB) order
        mean, std = mean[::-1], std[::-1]
    if dynamic:
        policy_text = (
            f'pad bottom/right to a multiple of {info.size_divisor} with the mean '
            f'colour (0 after normalisation), run, crop the logits back; no resizing'
        )
    else:
        policy_text = (
            f'resize the frame to {list(input_size)} (H, W) bilinearly, aspect ratio '
            f'not kept; resize the logits back to the frame size bilinearly'
        )
    spec = {
        'format': FORMAT,
        'version': VERSION,
        'classes': list(info.classes),
        'palette': [list(map(int, c)) for c in info.palette],
        'num_classes': info.num_classes,
        'ignore_index': 255,
        'input': {
            'name': 'input',
            'modality': 'rgb',
            'channel_order': 'RGB',
            'layout': 'NCHW',
            'dtype': 'float32',
            'value_range': [0, 255],
            'normalization': 'in_graph',
            'mean': mean,
            'std': std,
            'dynamic': bool(dynamic),
            'size': None if dynamic else [int(v) for v in input_size],
            'size_divisor': int(info.size_divisor),
            'pad_value': mean,
            'resize_policy': 'pad' if dynamic else 'resize',
            'policy': policy_text,
            'network_channel_order': info.network_channel_order,
        },
        'output': {
            'name': 'logits',
            'layout': 'NCHW',
            'dtype': 'float32',
            'meaning': 'class logits (K channels) at the resolution of the graph input',
        },
        'postprocess': 'softmax over K; labels = argmax, confidence = max probability',
        'exporter': f'torch.onnx.export(dynamo=False) torch {torch.__version__}, opset {OPSET}',
        'source': {k: v for k, v in info.meta.items() if isinstance(v, (str, int, float, list))},
    }
    if extra:
        spec.update(extra)
    return validate_spec(spec, where='build_spec')


def export_onnx(
    model: nn.Module,
    info: StudentInfo,
    out: str,
    input_size: Optional[Tuple[int, int]] = None,
    dynamic: bool = False,
    opset: int = OPSET,
    check: bool = True,
) -> Dict[str, Any]:
    """Write ``out`` (.onnx) and ``out + '.json'`` (sidecar); return the sidecar dict.

    Args:
        model: the student ``EncoderDecoder`` (from :func:`crossmodal.deploy.load_student`).
        info: its :class:`StudentInfo`.
        input_size: (H, W) of a fixed-size graph; default ``info.size``; required unless dynamic.
        dynamic: export with dynamic batch, height and width (frames are padded to a multiple of
            ``info.size_divisor`` at run time instead of resized).
        check: run ``onnx.checker`` on the result.
    """
    if not out.endswith('.onnx'):
        raise ValueError(f'--out must end with .onnx, got {out}')
    if input_size is None and not dynamic:
        input_size = info.size
        if input_size is None:
            raise ValueError(
                'the config sets no data_preprocessor.size: pass --input-size H W or --dynamic'
            )
    d = info.size_divisor
    if input_size is not None:
        h, w = int(input_size[0]), int(input_size[1])
        if h < 32 or w < 32:
            raise ValueError(f'input size {h}x{w} is too small for a 4-stage MiT (min 32x32)')
    else:
        h, w = 2 * max(d, 32), 3 * max(d, 32)  # non-square, so height and width stay distinct
    graph = StudentGraph(
        make_exportable(model), info.mean, info.std, info.network_channel_order
    ).eval()
    dummy = torch.rand(1, 3, h, w) * 255.0
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    kwargs = dict(
        input_names=['input'],
        output_names=['logits'],
        opset_version=opset,
        do_constant_folding=True,
        dynamo=False,
    )
    if dynamic:
        kwargs['dynamic_axes'] = {
            'input': {0: 'batch', 2: 'height', 3: 'width'},
            'logits': {0: 'batch', 2: 'height', 3: 'width'},
        }
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings from mmseg's shape asserts
        torch.onnx.export(graph, (dummy,), out, **kwargs)
    if check:
        import onnx

        onnx.checker.check_model(onnx.load(out))
    spec = build_spec(info, None if dynamic else (h, w), dynamic)
    with open(sidecar_path(out), 'w', encoding='utf-8') as f:
        json.dump(spec, f, indent=2)
    return spec
