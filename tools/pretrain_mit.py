#!/usr/bin/env python
"""Pretrain the tiny MiT of the embedded benchmark v3 on synthetic shapes (its "ImageNet").

Trains a stock mmseg SegFormer (the v3 student's architecture, from scratch) to segment the
random shapes of ``data_prep/synthetic_shapes.py`` (rendered on the fly, deterministic) and writes
the backbone in mmseg keys, loadable by the ``PretrainedMiT`` initializer that every v3 config
uses (``configs/_base_/pretrained/mit_synthetic.py``)::

    python tools/pretrain_mit.py --out crossmodal/assets/pretrained/mit-t_synthetic-shapes.pth

The shipped file was produced by this command with its defaults (see its ``meta``); reproducing it
took 7.4 minutes on 1 CPU thread. A held-out stream (seed+1) gives the pixel accuracy printed at
the end (JSON on stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

STUDENT = osp.join(ROOT, 'configs', 'students', 'segformer_mit-t_800it_synthetic-v3-rgb-128x160.py')


def build_model(config: str, num_classes: int):
    """The config's EncoderDecoder with a ``num_classes`` head, plain CE and no pretrained init."""
    import crossmodal
    from mmengine.config import Config
    from mmseg.registry import MODELS

    crossmodal.register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config).model
    cfg.backbone.pop('init_cfg', None)
    cfg.decode_head.num_classes = num_classes
    cfg.decode_head.loss_decode = dict(type='CrossEntropyLoss', loss_weight=1.0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', required=True, help='output .pth (backbone state dict + meta)')
    p.add_argument('--config', default=STUDENT, help='student config giving the architecture')
    p.add_argument('--iters', type=int, default=1200)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--seed', type=int, default=1234, help='pretraining stream seed')
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: leave default)')
    p.add_argument('--eval-frames', type=int, default=128, help='held-out frames scored at the end')
    a = p.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from data_prep.synthetic_shapes import CLASSES, render_batch

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = build_model(a.config, len(CLASSES))
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)

    def to_tensors(imgs, labels):
        x = (torch.from_numpy(imgs).permute(0, 3, 1, 2).float() - mean) / std
        return x, torch.from_numpy(labels).long()

    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    warm = max(1, a.iters // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warm) * max(0.0, 1 - i / a.iters)
    )
    try:
        from tqdm import tqdm

        bar = tqdm(range(a.iters), desc='pretrain MiT', unit='it', file=sys.stderr)
    except ImportError:
        bar = range(a.iters)
    t0 = time.perf_counter()
    model.train()
    for i in bar:
        x, y = to_tensors(*render_batch(a.seed, i * a.batch_size, a.batch_size))
        logits = model.decode_head(model.extract_feat(x))
        loss = F.cross_entropy(F.interpolate(logits, y.shape[-2:], mode='bilinear'), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if hasattr(bar, 'set_postfix') and i % 20 == 0:
            bar.set_postfix(loss=f'{loss.item():.3f}')
    train_s = time.perf_counter() - t0

    model.eval()
    correct = total = 0
    with torch.no_grad():
        for j in range(0, a.eval_frames, 16):
            x, y = to_tensors(*render_batch(a.seed + 1, j, min(16, a.eval_frames - j)))
            pred = F.interpolate(model.decode_head(model.extract_feat(x)), y.shape[-2:],
                                 mode='bilinear').argmax(1)
            correct += int((pred == y).sum())
            total += y.numel()
    state = {f'backbone.{k}': v.detach().clone() for k, v in model.backbone.state_dict().items()}
    meta = dict(
        producer='tools/pretrain_mit.py',
        task='synthetic shapes segmentation (data_prep/synthetic_shapes.py)',
        classes=list(CLASSES),
        iters=a.iters,
        batch_size=a.batch_size,
        lr=a.lr,
        seed=a.seed,
        config=osp.relpath(a.config, ROOT),
        heldout_pixel_accuracy=round(correct / total, 4),
        train_time_s=round(train_s, 1),
        torch=str(torch.__version__),
    )
    os.makedirs(osp.dirname(osp.abspath(a.out)), exist_ok=True)
    tmp = a.out + '.tmp'
    torch.save({'state_dict': state, 'meta': meta}, tmp)
    os.replace(tmp, a.out)
    meta['out'] = a.out
    meta['params'] = int(sum(v.numel() for v in state.values()))
    meta['bytes'] = os.path.getsize(a.out)
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
