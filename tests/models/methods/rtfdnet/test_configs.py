"""The RTFDNet configs load, name the right datasets/class counts and build."""

import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))
CASES = [
    ('rtfdnet_mit-t_600it_synthetic-rgbt-128x160.py', 4, (128, 160), 16),
    ('rtfdnet_mit-b2_40k_mfnet-480x640.py', 9, (480, 640), 64),
    ('rtfdnet_mit-b2_40k_pst900-360x640.py', 5, (360, 640), 64),
    ('rtfdnet_mit-b2_40k_fmb-480x640.py', 14, (480, 640), 64),
]


@pytest.mark.parametrize('name,num_classes,crop,embed', CASES)
def test_config_builds(name, num_classes, crop, embed):
    from mmseg.registry import MODELS

    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'distill', 'rtfdnet', name))
    assert cfg.model.type == 'RTFDNet' and cfg.model.modalities == ('rgb', 'thermal')
    assert cfg.model.decode_head.num_classes == num_classes and tuple(cfg.crop_size) == crop
    assert cfg.val_evaluator.type == 'MultiHeadIoUMetric'
    assert set(cfg.model.data_preprocessor.mean) == {'rgb', 'thermal'}
    cfg.model.backbone.pretrained_path = None
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert model.stage_channels[0] == embed and model.fusions[0].spatial_attn
    # the pseudo-label CE takes the supervised loss's class weights (embedded data only)
    cw = model.loss_cmdr_logit.class_weight
    if num_classes == 4:
        assert cw.tolist() == [0.25, 1.0, 1.0, 1.0]
    else:
        assert cw is None
    assert model.loss_rdr.class_weight is None and model.loss_cmdr_feat.gate_mlps == 'shared'
    if num_classes == 14:
        assert not any(
            t['type'] == 'HorizontalFlip' for t in cfg.train_pipeline[1]['transforms']
        )  # released FMB: no flip
