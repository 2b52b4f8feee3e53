"""tools/pretrain_mit.py and the shipped synthetic-pretrained tiny MiT: the tool writes a file the
`PretrainedMiT` initializer loads (weights_only, plain meta), and every v3 config's
``model.init_weights()`` (the Runner's path) puts the shipped weights into each backbone."""

import importlib.util
import json
import os.path as osp

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ASSET = osp.join(ROOT, 'crossmodal', 'assets', 'pretrained', 'mit-t_synthetic-shapes.pth')
STUDENT = osp.join(ROOT, 'configs', 'students', 'segformer_mit-t_800it_synthetic-v3-rgb-128x160.py')
TEACHER = osp.join(ROOT, 'configs', 'teachers',
                   'rgbx-sff-segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py')


def _tool():
    spec = importlib.util.spec_from_file_location('pretrain_mit', osp.join(ROOT, 'tools',
                                                                           'pretrain_mit.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _build(config):
    import crossmodal
    from mmengine.config import Config
    from mmseg.registry import MODELS

    crossmodal.register_all_modules(init_default_scope=True)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    return model


def test_tool_writes_a_loadable_checkpoint(tmp_path, capsys):
    out = str(tmp_path / 'mit.pth')
    assert _tool().main(['--out', out, '--iters', '2', '--batch-size', '2', '--eval-frames',
                         '2']) == 0
    printed = capsys.readouterr().out
    meta = json.loads(printed[printed.rindex('{\n  "producer"'):])  # the JSON after any log
    assert meta['iters'] == 2 and 0.0 <= meta['heldout_pixel_accuracy'] <= 1.0
    ck = torch.load(out, weights_only=True)
    assert all(k.startswith('backbone.') for k in ck['state_dict'])
    json.dumps(ck['meta'])  # plain types only
    from crossmodal.models.backbones.pretrained import load_pretrained_mit

    model = _build(STUDENT)
    report = load_pretrained_mit(model.backbone, out)
    assert report['matched'] == report['total'] == len(ck['state_dict'])


def test_v3_configs_start_every_backbone_from_the_shipped_weights():
    ck = torch.load(ASSET, weights_only=True)
    state = ck['state_dict']
    assert ck['meta']['producer'] == 'tools/pretrain_mit.py'
    student = _build(STUDENT)
    for k, v in student.backbone.state_dict().items():
        assert torch.equal(v, state[f'backbone.{k}']), k
    teacher = _build(TEACHER)
    rgb = teacher.backbones['rgb'].state_dict()
    th = teacher.backbones['thermal'].state_dict()
    key = 'layers.0.0.projection.weight'
    assert torch.equal(rgb[key], state[f'backbone.{key}'])
    # the 1-channel thermal patch embedding adapts the RGB filters (sum over RGB = same response
    # to a grey image); every other tensor is the same as the RGB encoder's
    assert th[key].shape[1] == 1
    assert torch.allclose(th[key][:, 0], state[f'backbone.{key}'].sum(1), atol=1e-5) or \
        torch.allclose(th[key][:, 0], state[f'backbone.{key}'].mean(1), atol=1e-5)
    assert all(torch.equal(th[k], rgb[k]) for k in rgb if k != key)
