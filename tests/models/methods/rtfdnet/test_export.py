"""Export of the RGB / X stream to a stock mmseg SegFormer: predictions equal the branch's."""

import numpy as np
import pytest
import torch
from mmengine.config import Config

from crossmodal.models.methods.rtfdnet.export import ExportError, export_branch, stock_config

from .common import build, tiny_cfg


def _save(tmp_path, **kw):
    model = build(**kw)
    # non-trivial BN statistics so the test would catch a dropped buffer
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    ckpt = tmp_path / 'rtfdnet.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=('a', 'b', 'c'), palette=[[0, 0, 0]] * 3)),
        ),
        ckpt,
    )
    cfg = Config(dict(model=tiny_cfg(**kw)))
    cfg_path = tmp_path / 'rtfdnet_cfg.py'
    cfg.dump(str(cfg_path))
    return model.eval(), str(cfg_path), str(ckpt)


@pytest.mark.parametrize('branch', ['rgb', 'x'])
def test_exported_branch_equals_model_branch(tmp_path, branch):
    from mmseg.apis import inference_model, init_model

    model, cfg_path, ckpt = _save(tmp_path)
    out_cfg, out_ckpt = export_branch(cfg_path, ckpt, str(tmp_path / 'out'), branch=branch)
    stock = init_model(out_cfg, out_ckpt, device='cpu')
    assert type(stock).__name__ == 'EncoderDecoder'
    assert type(stock.backbone).__name__ == 'MixVisionTransformer'
    assert stock.dataset_meta['classes'] == ('a', 'b', 'c')
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    th = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    if branch == 'rgb':
        res = inference_model(
            stock, np.ascontiguousarray(rgb[:, :, ::-1])
        )  # plain mmseg: BGR input
    else:
        res = inference_model(stock, th)
    model.branch = branch
    data = dict(
        inputs=[
            {
                'rgb': torch.from_numpy(rgb).permute(2, 0, 1),
                'thermal': torch.from_numpy(th)[None].float(),
            }
        ]
    )
    with torch.no_grad():
        ours = model.test_step(data)[0]
    torch.testing.assert_close(res.seg_logits.data, ours.seg_logits.data, atol=1e-5, rtol=1e-5)
    assert torch.equal(res.pred_sem_seg.data, ours.get(f'pred_sem_seg_{branch}').data)


def test_export_errors(tmp_path):
    _, cfg_path, ckpt = _save(tmp_path)
    with pytest.raises(ExportError, match='branch'):
        export_branch(cfg_path, ckpt, str(tmp_path / 'o'), branch='depth')
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict={'backbone.x': torch.zeros(1)}), bad)
    with pytest.raises(ExportError, match='bad.pth'):
        export_branch(cfg_path, str(bad), str(tmp_path / 'o'))
    with pytest.raises(ExportError, match='RTFDNet'):
        stock_config(Config(dict(model=dict(type='EncoderDecoder'))))


def test_export_cli(tmp_path, capsys):
    import tools.export_branch as eb

    _, cfg_path, ckpt = _save(tmp_path)
    cfg_out, ckpt_out = eb.main(
        [cfg_path, ckpt, '--out-dir', str(tmp_path / 'cli'), '--name', 'student']
    )
    assert cfg_out.endswith('student.py') and ckpt_out.endswith('student.pth')
    stock = Config.fromfile(cfg_out)
    assert 'custom_imports' not in stock and stock.model.type == 'EncoderDecoder'
    assert stock.model.data_preprocessor.bgr_to_rgb is True
    assert '"checkpoint"' in capsys.readouterr().out
