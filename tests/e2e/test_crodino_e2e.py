"""End-to-end CroDiNo-KD: tools/train.py co-trains the RGB and depth models of the embedded config
on a tiny generated RGB-D set (3 iterations), validation reports both mIoUs, tools/test.py runs, and
tools/export_branch.py exports each model to plain mmseg, which predicts like the model in the
run."""

import glob
import json
import os.path as osp
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
CFG = osp.join(
    ROOT, 'configs', 'distill', 'crodino', 'crodino_segformer_mit-t_600it_synthetic-rgbd-128x160.py'
)


@pytest.fixture(scope='module')
def tiny_rgbd(tmp_path_factory):
    from data_prep.synthetic import generate

    root = tmp_path_factory.mktemp('data') / 'synthetic_rgbd'
    generate(str(root), 'rgbd', num=16, height=64, width=80, progress=False)
    return str(root)


def _write_cfg(path, data_root, iters=3):
    text = f"""
_base_ = [{CFG!r}]
data_root = {data_root!r}
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='JointGeometricAug', transforms=[dict(type='HorizontalFlip', p=0.5)]),
    dict(type='MultiModalRandomCrop', crop_size=(48, 64)),
    dict(type='DepthPhotometricAug', hole_p=1.0, noise_p=1.0),
    dict(type='PackMultiModalInputs', modalities=('rgb', 'depth')),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(contrastive=dict(pixels_per_img=16),
             data_preprocessor=dict(type='MultiModalDataPreprocessor',
                                    mean=dict(rgb=[123.675, 116.28, 103.53], depth=[6.0]),
                                    std=dict(rgb=[58.395, 57.12, 57.375], depth=[3.0]),
                                    size=(48, 64)))
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end={iters})]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval={iters}),
                     visualization=dict(type='SegVisualizationHook', draw=False))
"""
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_crodino_train_test_export(tmp_path, tiny_rgbd):
    import export_branch
    import test as test_tool
    import train as train_tool
    from mmengine.dataset import pseudo_collate
    from mmseg.apis import inference_model, init_model

    cfg = _write_cfg(tmp_path / 'crodino.py', tiny_rgbd)
    work = str(tmp_path / 'work')
    runner = train_tool.main([cfg, '--work-dir', work])
    log = open(sorted(glob.glob(osp.join(work, '*', '*.log')))[-1]).read()
    for key in (
        'rgb.decode.loss_ce',
        'depth.decode.loss_ce',
        'aux_rgb.loss_ce',
        'aux_depth.loss_ce',
        'loss_con',
        'loss_orth_rgb',
        'loss_orth_depth',
        'mIoU_rgb',
        'mIoU_depth',
    ):
        assert key in log, key
    ckpt = osp.join(work, 'iter_3.pth')
    assert osp.isfile(ckpt)

    test_tool.main([cfg, ckpt, '--work-dir', str(tmp_path / 'test')])
    results = json.load(open(osp.join(tmp_path, 'test', 'test_results.json')))
    flat = json.dumps(results)
    assert 'mIoU_rgb' in flat and 'mIoU_depth' in flat

    model = runner.model.eval()
    item = runner.val_dataloader.dataset[0]
    with torch.no_grad():
        ours = model.val_step(pseudo_collate([item]))[0]
    sample = item['data_samples']
    for branch, path in (('rgb', sample.img_path), ('depth', sample.modality_paths['depth'])):
        out_cfg, out_ckpt = export_branch.main(
            [cfg, ckpt, '--out-dir', str(tmp_path / 'export'), '--branch', branch]
        )
        plain = init_model(out_cfg, out_ckpt, device='cpu')
        assert type(plain).__name__ == 'EncoderDecoder'
        assert list(plain.dataset_meta['classes'][:2]) == ['background', 'person']
        theirs = inference_model(plain, path)  # the dataset's own file, read by plain mmseg
        assert torch.equal(theirs.pred_sem_seg.data, ours.get(f'pred_sem_seg_{branch}').data), (
            branch
        )
        if branch == 'rgb':
            torch.testing.assert_close(theirs.seg_logits.data, ours.seg_logits.data, rtol=0, atol=0)
