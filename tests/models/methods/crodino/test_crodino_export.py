"""Export of a CroDiNo-KD model to plain mmseg: predictions equal the model inside the CroDiNo
run."""

import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

import crossmodal  # noqa: F401
from crodino_helpers import build, crodino_cfg
from crossmodal.models.methods.crodino.export import export_model

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))


def _save(tmp_path):
    model = build()
    with torch.no_grad():  # non-trivial BN statistics: a dropped buffer would show
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    ckpt = tmp_path / 'crodino.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=('a', 'b', 'c'), palette=[[0, 0, 0]] * 3)),
        ),
        ckpt,
    )
    cfg_path = tmp_path / 'crodino_cfg.py'
    Config(dict(model=crodino_cfg())).dump(str(cfg_path))
    return model.eval(), str(cfg_path), str(ckpt)


def _ours(model, rgb, depth_m):
    data = dict(
        inputs=[
            {
                'rgb': torch.from_numpy(rgb).permute(2, 0, 1).contiguous(),
                'depth': torch.from_numpy(depth_m)[None],
            }
        ]
    )
    with torch.no_grad():
        return model.test_step(data)[0]


def test_exported_rgb_model_predicts_identically(tmp_path):
    from mmseg.apis import inference_model, init_model

    model, cfg_path, ckpt = _save(tmp_path)
    out_cfg, out_ckpt = export_model(cfg_path, ckpt, str(tmp_path / 'out'), 'rgb')
    stock_cfg = Config.fromfile(out_cfg)
    assert 'custom_imports' not in stock_cfg and stock_cfg.model.type == 'EncoderDecoder'
    assert stock_cfg.model.data_preprocessor.bgr_to_rgb is True
    sd = torch.load(out_ckpt, weights_only=True)['state_dict']
    assert not any(k.startswith(('aux_head', 'models.')) for k in sd)
    stock = init_model(out_cfg, out_ckpt, device='cpu')
    assert type(stock.decode_head).__name__ == 'SegformerHead'
    assert list(stock.dataset_meta['classes']) == ['a', 'b', 'c']
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 10, (32, 48)).astype(np.float32)
    png = str(tmp_path / 'rgb.png')
    cv2.imwrite(png, rgb[:, :, ::-1])  # a user's image file (BGR on disk via cv2)
    res = inference_model(stock, png)
    ours = _ours(model, rgb, depth)
    assert torch.equal(res.seg_logits.data, ours.seg_logits.data)
    assert torch.equal(res.pred_sem_seg.data, ours.pred_sem_seg_rgb.data)


def test_exported_depth_model_predicts_identically(tmp_path):
    from mmseg.apis import inference_model, init_model

    model, cfg_path, ckpt = _save(tmp_path)
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    depth_mm = rng.integers(500, 10000, (32, 48)).astype(np.uint16)
    depth_mm[:4, :4] = 0  # invalid
    png = str(tmp_path / 'depth.png')
    cv2.imwrite(png, depth_mm)
    model.branch = 'depth'  # seg_logits = the depth model's
    ours = _ours(model, rgb, depth_mm.astype(np.float32) * np.float32(0.001))
    # stored-unit export (mm PNG read unchanged, mean/std rescaled): same predictions
    out_cfg, out_ckpt = export_model(
        cfg_path, ckpt, str(tmp_path / 'mm'), 'depth', input_scale=0.001
    )
    stock = init_model(out_cfg, out_ckpt, device='cpu')
    res = inference_model(stock, png)
    torch.testing.assert_close(res.seg_logits.data, ours.seg_logits.data, atol=1e-4, rtol=1e-4)
    assert torch.equal(res.pred_sem_seg.data, ours.pred_sem_seg_depth.data)
    # training-unit export (no scale known): a float array in metres gives the same logits exactly
    with pytest.warns(UserWarning, match='training unit'):
        out_cfg, out_ckpt = export_model(cfg_path, ckpt, str(tmp_path / 'm'), 'depth')
    stock = init_model(out_cfg, out_ckpt, device='cpu')
    res = inference_model(stock, depth_mm.astype(np.float32) * np.float32(0.001))
    assert torch.equal(res.seg_logits.data, ours.seg_logits.data)


def test_export_errors(tmp_path):
    _, cfg_path, ckpt = _save(tmp_path)
    with pytest.raises(ValueError, match="'thermal'"):
        export_model(cfg_path, ckpt, str(tmp_path / 'o'), 'thermal')
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict={'student.x': torch.zeros(1)}), bad)
    with pytest.raises(ValueError, match='bad.pth'):
        export_model(cfg_path, str(bad), str(tmp_path / 'o'), 'rgb')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        export_model(cfg_path, str(tmp_path / 'missing.pth'), str(tmp_path / 'o'), 'rgb')


def test_export_branch_cli_handles_crodino(tmp_path, capsys):
    import sys

    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import export_branch as eb

    _, cfg_path, ckpt = _save(tmp_path)
    cfg_out, ckpt_out = eb.main(
        [
            cfg_path,
            ckpt,
            '--out-dir',
            str(tmp_path / 'cli'),
            '--branch',
            'depth',
            '--input-scale',
            '0.001',
        ]
    )
    assert cfg_out.endswith('segformer_depth_from_crodino.py') and osp.isfile(ckpt_out)
    stock = Config.fromfile(cfg_out)
    assert stock.model.data_preprocessor.mean == [6000.0]
    assert stock.test_pipeline[0]['color_type'] == 'unchanged'
    assert '"checkpoint"' in capsys.readouterr().out
