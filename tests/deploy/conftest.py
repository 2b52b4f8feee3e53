"""Fixtures for the deploy tests: a tiny SegFormer student trained a few steps on synthetic data,
saved as an mmengine-style checkpoint + config, and its ONNX exports (fixed and dynamic)."""

import os

import pytest
import torch
from deploy_helpers import CLASSES, PALETTE, synthetic_batch, tiny_student_model_cfg


@pytest.fixture(scope='session')
def tiny_student(tmp_path_factory):
    """(config_path, ckpt_path, model_cfg dict): 10 AdamW steps (64x64) on synthetic data."""
    import crossmodal  # noqa: F401
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    model_cfg = tiny_student_model_cfg()
    model = MODELS.build(model_cfg)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-2))
    imgs, labels = synthetic_batch(n=2)
    samples = []
    for lab in labels:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.from_numpy(lab)[None].long())
        s.set_metainfo(dict(img_shape=lab.shape, ori_shape=lab.shape))
        samples.append(s)
    data = dict(
        inputs=[torch.from_numpy(i).permute(2, 0, 1).contiguous() for i in imgs],
        data_samples=samples,
    )
    model.train()
    for _ in range(10):
        model.train_step(data, optim)
    model.eval()
    d = tmp_path_factory.mktemp('student')
    cfg_path, ckpt_path = str(d / 'tiny_student.py'), str(d / 'tiny_student.pth')
    Config(dict(model=model_cfg, metainfo=dict(classes=CLASSES, palette=PALETTE))).dump(cfg_path)
    torch.save(
        {
            'meta': {
                'dataset_meta': {'classes': CLASSES, 'palette': PALETTE},
                'epoch': 0,
                'iter': 10,
            },
            'state_dict': model.state_dict(),
        },
        ckpt_path,
    )
    return cfg_path, ckpt_path, model_cfg


@pytest.fixture(scope='session')
def loaded_student(tiny_student):
    from crossmodal.deploy import load_student

    cfg_path, ckpt_path, _ = tiny_student
    return load_student(cfg_path, ckpt_path)


@pytest.fixture(scope='session')
def onnx_models(tiny_student, loaded_student, tmp_path_factory):
    """{'fixed': path (64x96 graph), 'dynamic': path}, each with its sidecar."""
    from crossmodal.deploy import export_onnx

    model, _, _, info = loaded_student
    d = tmp_path_factory.mktemp('onnx')
    fixed, dynamic = str(d / 'fixed.onnx'), str(d / 'dynamic.onnx')
    export_onnx(model, info, fixed, input_size=(64, 96))
    export_onnx(model, info, dynamic, dynamic=True)
    return {'fixed': fixed, 'dynamic': dynamic}


@pytest.fixture
def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
