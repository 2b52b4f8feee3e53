"""Pre- and post-processing shared by the ONNX and the PyTorch paths (numpy + OpenCV only).

Policy (the same one the exported graph was checked against in the parity tests):

- **Input**: one RGB frame, ``uint8`` (H, W, 3), RGB channel order (what crossmodal's data loader
  yields during training; convert OpenCV's BGR frames with ``cv2.cvtColor(f, cv2.COLOR_BGR2RGB)``).
  A grey uint8 frame is refused unless ``grey_to_rgb`` (copied into R, G and B); 16-bit frames are
  refused (:func:`check_frame`).
- ``resize_policy == "resize"`` (model exported with a fixed ``--input-size h w``): the frame is
  resized to exactly (h, w) with bilinear interpolation (aspect ratio not kept); the (K, h, w)
  logits are resized back to (H, W) bilinearly (half-pixel centres, like
  ``F.interpolate(align_corners=False)`` in mmseg's post-processing) before softmax/argmax.
- ``resize_policy == "pad"`` (``--dynamic``): no resizing; the frame is padded at the bottom/right
  to a multiple of ``size_divisor`` with the mean colour (i.e. 0 after normalisation, exactly what
  ``SegDataPreProcessor`` does with ``pad_val=0`` on the normalised tensor) and the logits are
  cropped back to (H, W).
- Normalisation ``(x - mean) / std`` (0-255 units) happens inside the graph, so the graph input is
  the raw frame as float32 NCHW in [0, 255].
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import cv2
import numpy as np

__all__ = ['FrameError', 'check_frame', 'preprocess', 'postprocess', 'softmax_max']


class FrameError(ValueError):
    """A frame passed to a segmenter has the wrong type, shape, channel count or dtype."""


GREY_HINT = (
    'Pass grey_to_rgb=True (tools/infer.py --grey-to-rgb) to copy the grey channel into '
    'R, G and B, if this really is a grey camera image of the scene; a depth or thermal '
    'image is not a valid input of an RGB student.'
)


def check_frame(frame: Any, where: str = 'frame', grey_to_rgb: bool = False) -> np.ndarray:
    """Return ``frame`` if it is a uint8 (H, W, 3) RGB array, else raise :class:`FrameError`.

    Policy (the same in ``tools/infer.py`` and the Python API, docs/deploy.md):

    * a 1-channel (grey) uint8 image, (H, W) or (H, W, 1), is refused unless ``grey_to_rgb``:
      then it is returned as (H, W, 3) with the grey value in every channel;
    * any dtype other than uint8 is refused, 16-bit images included: the model was trained on
      8-bit RGB, and mapping 16-bit values to 0-255 needs the sensor's range, which only the caller
      knows (e.g. ``(x // 257).astype(np.uint8)`` for a full-range 16-bit photo);
    * 4 channels (RGBA) and other channel counts are refused.
    """
    expected = 'expected an RGB image as a numpy uint8 array of shape (H, W, 3)'
    if not isinstance(frame, np.ndarray):
        raise FrameError(f'{where}: got {type(frame).__name__}; {expected}')
    if frame.ndim not in (2, 3):
        raise FrameError(
            f'{where}: got an array of shape {frame.shape} ({frame.ndim} dims); {expected}.'
        )
    grey = frame.ndim == 2 or frame.shape[2] == 1
    if frame.dtype != np.uint8:
        if frame.dtype == np.uint16:
            kind = 'a 16-bit grey image' if grey else 'a 16-bit image'
            raise FrameError(
                f'{where}: got dtype uint16 ({kind}, shape {frame.shape}); {expected}. This model '
                f'takes 8-bit images: 16-bit images are refused, since mapping them to 0-255 needs '
                f'the sensor\'s range (e.g. (x // 257).astype(np.uint8) for a full-range 16-bit '
                f'photo); convert them yourself.'
            )
        raise FrameError(
            f'{where}: got dtype {frame.dtype}; {expected} with values 0-255 (convert with '
            f'np.clip(x, 0, 255).astype(np.uint8) only if your values really are 0-255).'
        )
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise FrameError(f'{where}: empty image of shape {frame.shape}')
    if grey:
        if grey_to_rgb:
            g = frame if frame.ndim == 2 else frame[..., 0]
            return np.ascontiguousarray(np.repeat(g[..., None], 3, axis=2))
        dims = '2 dims, a grey image' if frame.ndim == 2 else 'got 1 channels, a grey image'
        raise FrameError(
            f'{where}: got an array of shape {frame.shape} ({dims}); {expected}. '
            f'This model takes 3-channel RGB. {GREY_HINT}'
        )
    if frame.shape[2] != 3:
        raise FrameError(
            f'{where}: got {frame.shape[2]} channels (shape {frame.shape}); {expected}. '
            f'Drop an alpha channel with frame[..., :3]; other modalities are not inputs of a '
            f'single-modality RGB student.'
        )
    return frame


def preprocess(frame: np.ndarray, spec_input: Dict[str, Any]) -> Tuple[np.ndarray, Dict[str, Any]]:
    """uint8 (H, W, 3) RGB -> float32 (1, 3, h, w) graph input, plus the info to undo it."""
    h0, w0 = frame.shape[:2]
    img = frame.astype(np.float32)
    if spec_input['resize_policy'] == 'resize':
        h, w = (int(v) for v in spec_input['size'])
        if (h, w) != (h0, w0):
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        d = int(spec_input['size_divisor'])
        h, w = -(-h0 // d) * d, -(-w0 // d) * d
        if (h, w) != (h0, w0):
            pad = np.asarray(spec_input.get('pad_value', spec_input['mean']), np.float32)
            canvas = np.empty((h, w, 3), np.float32)
            canvas[...] = pad
            canvas[:h0, :w0] = img
            img = canvas
    x = np.ascontiguousarray(img.transpose(2, 0, 1)[None])
    return x, {'ori_shape': (h0, w0), 'input_shape': (h, w), 'policy': spec_input['resize_policy']}


def _resize_chw(logits: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (K, h, w) float32 to (K, H, W) (cv2 handles <= 512 channels a call)."""
    hwk = logits.transpose(1, 2, 0)
    out = []
    for s in range(0, hwk.shape[2], 512):
        part = cv2.resize(
            np.ascontiguousarray(hwk[..., s : s + 512]),
            (size[1], size[0]),
            interpolation=cv2.INTER_LINEAR,
        )
        out.append(part.reshape(size[0], size[1], -1))
    return np.concatenate(out, axis=2).transpose(2, 0, 1)


def postprocess(logits: np.ndarray, info: Dict[str, Any]) -> np.ndarray:
    """(1, K, h, w) graph output -> (K, H, W) float32 logits at the frame's resolution."""
    if logits.ndim != 4 or logits.shape[0] != 1:
        raise ValueError(f'model output has shape {logits.shape}, expected (1, K, h, w)')
    lg = logits[0].astype(np.float32, copy=False)
    h0, w0 = info['ori_shape']
    if info['policy'] == 'pad':
        return lg[:, :h0, :w0]
    if lg.shape[1:] != (h0, w0):
        lg = _resize_chw(lg, (h0, w0))
    return lg


def softmax_max(logits: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(K, H, W) logits -> labels (H, W) uint8 (int32 if K > 255) argmax and confidence (H, W)
    float32 max softmax probability."""
    labels = logits.argmax(axis=0)
    m = logits.max(axis=0)
    denom = np.exp(logits - m[None]).sum(axis=0)
    conf = (1.0 / denom).astype(np.float32)  # exp(max - max) / sum
    dtype = np.uint8 if logits.shape[0] <= 255 else np.int32
    return labels.astype(dtype), conf
