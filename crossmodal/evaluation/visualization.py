"""``tools/test.py --show-dir``: painted predictions named ``<stem>.png``.

mmseg's ``SegVisualizationHook`` names each image ``f'{mode}_{basename(img_path)}'`` and the local
vis backend appends ``_<step>.png``, so ``frame_001.png`` became ``test_frame_001.png_0.png`` under
``<show_dir>/vis_image/``. :class:`StemSegVisualizationHook` draws the same picture (ground truth |
prediction, by ``SegLocalVisualizer``) and writes it to ``<out_dir>/<stem>.png``. Two test samples
with the same stem (files of the same name in different folders) do not overwrite each other: the
second is written as ``<stem>_2.png`` and a warning says so.
"""

from __future__ import annotations

import os
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence

import mmcv
from mmengine import fileio
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS

__all__ = ['StemSegVisualizationHook', 'visualization_name']


def visualization_name(img_path: str) -> str:
    """``/data/rgb/frame_001.png`` -> ``frame_001.png`` (the file the visualisation is saved as)."""
    return osp.splitext(osp.basename(img_path))[0] + '.png'


@HOOKS.register_module()
class StemSegVisualizationHook(SegVisualizationHook):
    """``SegVisualizationHook`` that saves ``<out_dir>/<stem>.png`` per test/val sample.

    Args:
        out_dir: folder of the pictures (created).
        draw / interval / show / wait_time / backend_args: as ``SegVisualizationHook``.
    """

    def __init__(
        self,
        out_dir: str,
        draw: bool = True,
        interval: int = 1,
        show: bool = False,
        wait_time: float = 0.0,
        backend_args: Optional[dict] = None,
    ):
        super().__init__(
            draw=draw, interval=interval, show=show, wait_time=wait_time, backend_args=backend_args
        )
        self.out_dir = out_dir
        self._written: Dict[str, str] = {}

    def _out_file(self, img_path: str) -> str:
        name = visualization_name(img_path)
        stem, n = name[:-4], 1
        while name in self._written and self._written[name] != img_path:
            n += 1
            name = f'{stem}_{n}.png'
        if n > 1:
            warnings.warn(
                f'--show-dir: {img_path} has the same stem as '
                f'{self._written[stem + ".png"]}; saved as {name}'
            )
        self._written[name] = img_path
        return osp.join(self.out_dir, name)

    def _after_iter(
        self, runner, batch_idx: int, data_batch: dict, outputs: Sequence, mode: str = 'val'
    ) -> None:
        if self.draw is False or mode == 'train':
            return
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        os.makedirs(self.out_dir, exist_ok=True)
        for output in outputs:
            img_path = output.img_path
            img = mmcv.imfrombytes(
                fileio.get(img_path, backend_args=self.backend_args), channel_order='rgb'
            )
            self._visualizer.add_datasample(
                osp.splitext(osp.basename(img_path))[0],
                img,
                data_sample=output,
                show=self.show,
                wait_time=self.wait_time,
                out_file=self._out_file(img_path),
                step=batch_idx,
            )  # not runner.iter: that builds the train loop (and its data)
