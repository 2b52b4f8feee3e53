"""Teacher cache: writing (resumable, atomic), the manifest's hashes, and the refusals.

A real cache of the v3 RGB-T teacher (random weights) over a tiny v3 train split (8 frames), made
in-process with :func:`crossmodal.teacher_cache.writer.cache_teachers` (``tools/cache_teacher.py``
runs the same function; the kd-cached row of the harness smoke test,
tests/benchmarks/test_methods_harness.py, runs the tools end to end).
"""

import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from cache_helpers import kd_config, teacher_checkpoint, tiny_v3
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS, TRANSFORMS

from crossmodal.teacher_cache import TeacherCache, TeacherCacheError, TeacherCacheMismatch
from crossmodal.teacher_cache.manifest import config_sha256
from crossmodal.teacher_cache.run_config import setup_teacher_cache
from crossmodal.teacher_cache.writer import cache_teachers


@pytest.fixture(scope='module')
def made(tmp_path_factory):
    base = tmp_path_factory.mktemp('tc')
    data = tiny_v3(base / 'v3')
    ckpt = teacher_checkpoint(base / 'teacher.pth')
    cfg = kd_config(data, ckpt)
    out = str(base / 'cache')
    summary = cache_teachers(cfg, out, topk=3, taps=['stage4'], progress=False)
    return dict(data=data, ckpt=ckpt, cache=out, summary=summary, base=base)


def _copy(made, tmp_path):
    dst = str(tmp_path / 'cache')
    shutil.copytree(made['cache'], dst)
    return dst


def test_summary_and_manifest(made):
    s = made['summary']
    # 8 classes, k = 3, 32 x 40 logits: 3 x 2 + 3 x 1 + 2 bytes per pixel vs 8 x 2 dense
    assert s['samples'] == 8 and s['written'] == 8 and s['skipped'] == 0
    assert s['logits_shape'] == [32, 40]
    assert s['bytes_per_frame'] == 11 * 32 * 40 and s['dense_fp16_bytes_per_frame'] == 16 * 32 * 40
    assert s['ratio'] == pytest.approx(11 / 16)
    m = json.load(open(osp.join(made['cache'], 'manifest.json')))
    assert m['complete'] and m['topk'] == 3 and m['split'] == 'train'
    assert m['logits_stride'] == 4 and m['crossmodal_version']
    t = m['teachers']['rgbt']
    assert t['num_classes'] == 8 and t['index_dtype'] == 'uint8'
    assert len(t['config_sha256']) == len(t['checkpoint_sha256']) == 64
    assert m['tap_shapes']['rgbt']['stage4'] == dict(channels=128, shape=[4, 5])
    assert set(m['dataset']) == {
        'data_root', 'split', 'split_file_sha256', 'meta_sha256', 'meta_scope', 'sha256'
    }
    assert len(m['samples']) == 8
    assert [p['type'] for p in m['pipeline']] == ['LoadMultiModalFromFile', 'PackMultiModalInputs']


def test_cached_logits_are_the_teachers_topk(made):
    """The stored top-k are the teacher's logits on the unaugmented full frame (fp16)."""
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    from crossmodal.teacher_cache.writer import build_distiller, cache_pipeline

    cfg = kd_config(made['data'], made['ckpt'])
    model, _ = build_distiller(cfg)
    ds_cfg = cfg.train_dataloader.dataset.to_dict()
    ds_cfg['pipeline'] = cache_pipeline(cfg)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(ds_cfg)
    item = ds[2]
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([item]), False)
        logits = model.teachers['rgbt']._forward(model.teacher_inputs('rgbt', data['inputs']))
    cache = TeacherCache(made['cache'])
    got = cache.load(ds.get_data_info(2)['stem'])['rgbt']
    want_v, want_i = logits[0].topk(3, dim=0)
    assert np.array_equal(got['indices'], want_i.numpy())
    assert np.allclose(got['values'].astype(np.float32), want_v.numpy(), atol=1e-2, rtol=1e-3)
    tail = torch.logsumexp(logits[0].scatter(0, want_i, float('-inf')), 0)
    assert np.allclose(got['tail'][0].astype(np.float32), tail.numpy(), atol=1e-2, rtol=1e-3)
    assert got['taps']['stage4'].shape == (128, 4, 5) and got['taps']['stage4'].dtype == np.float16


def test_resume_skips_written_samples_and_completes(made, tmp_path):
    out = _copy(made, tmp_path)
    stems = sorted(json.load(open(osp.join(out, 'manifest.json')))['samples'])
    os.remove(osp.join(out, 'samples', f'{stems[0]}.npz'))
    s = cache_teachers(kd_config(made['data'], made['ckpt']), out, topk=3, taps=['stage4'],
                       progress=False)
    assert (s['written'], s['skipped'], s['samples']) == (1, 7, 8)
    assert not [f for f in os.listdir(osp.join(out, 'samples')) if '.tmp' in f]
    # another k into the same directory is refused
    with pytest.raises(TeacherCacheError, match='--topk'):
        cache_teachers(kd_config(made['data'], made['ckpt']), out, topk=2, progress=False)


def test_random_teacher_is_refused(made):
    cfg = kd_config(made['data'], made['ckpt'])
    cfg.model.teachers.rgbt.checkpoint = None
    with pytest.raises(ValueError, match='has no checkpoint'):
        cache_teachers(cfg, '/nonexistent', progress=False)


def _distiller(made, **teacher):
    cfg = kd_config(made['data'], made['ckpt'])
    mcfg = cfg.model.to_dict()
    mcfg['teacher_cache'] = made['cache']
    mcfg['teachers']['rgbt'].update(teacher)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(mcfg)


def test_distiller_from_the_cache_builds_no_teacher(made):
    model = _distiller(made)
    assert len(model.teachers) == 0 and model.teacher_specs['rgbt']['num_classes'] == 8
    assert not [k for k in model.state_dict() if k.startswith('teachers.')]


def test_another_checkpoint_is_refused(made, tmp_path):
    other = teacher_checkpoint(tmp_path / 'other.pth', seed=1)
    with pytest.raises(TeacherCacheMismatch, match=r'checkpoint of teacher "rgbt".*sha256'):
        _distiller(made, checkpoint=other)


def test_another_teacher_config_is_refused_but_init_cfg_is_ignored(made):
    from crossmodal.models.distill.teachers import model_config

    cfg = kd_config(made['data'], made['ckpt'])
    tcfg = model_config(cfg.model.teachers.rgbt.config, 't').to_dict()
    same = dict(tcfg, init_cfg=dict(type='Pretrained', checkpoint='elsewhere.pth'))
    assert config_sha256(same) == config_sha256(tcfg)
    _distiller(made, config=same)  # accepted
    other = dict(tcfg, decode_head=dict(tcfg['decode_head'], channels=32))
    with pytest.raises(TeacherCacheMismatch, match=r'config hash of teacher "rgbt"'):
        _distiller(made, config=other)


def test_another_teacher_name_is_refused(made):
    cfg = kd_config(made['data'], made['ckpt'])
    cache = TeacherCache(made['cache'])
    with pytest.raises(TeacherCacheMismatch, match='teacher set'):
        cache.check_teachers({'depth': cfg.model.teachers.rgbt})


@pytest.mark.parametrize(
    'change, what',
    [
        ('split', 'the split'),
        ('split_file', r'split file contents \(split_file_sha256\)'),
        ('meta', r'meta.json \(meta_sha256\)'),
        ('root', r'dataset root \(data_root\)'),
    ],
)
def test_another_dataset_or_split_is_refused(made, tmp_path, change, what):
    data = made['data']
    split = 'train'
    if change == 'split':
        split = 'val'
    else:
        data = str(tmp_path / 'v3')
        shutil.copytree(made['data'], data)
        if change == 'split_file':
            with open(osp.join(data, 'train.txt'), 'a') as f:
                f.write('extra\n')
        elif change == 'meta':
            meta = json.load(open(osp.join(data, 'meta.json')))
            meta['name'] = 'edited'
            json.dump(meta, open(osp.join(data, 'meta.json'), 'w'))
    cfg = kd_config(data, made['ckpt'], **{'train_dataloader.dataset.split': split})
    cfg.model.teacher_cache = made['cache']
    with pytest.raises(TeacherCacheMismatch, match=what):
        setup_teacher_cache(cfg)


def test_setup_inserts_the_loader_after_loading(made):
    cfg = kd_config(made['data'], made['ckpt'])
    cfg.model.teacher_cache = made['cache']
    setup_teacher_cache(cfg)
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types[:2] == ['LoadMultiModalFromFile', 'LoadTeacherCache']
    assert cfg.train_dataloader.dataset.pipeline[1]['taps'] == ()  # the kd loss uses logits only
    cfg.train_dataloader.dataset.pipeline[1]['cache_dir'] = '/elsewhere'
    with pytest.raises(TeacherCacheError, match='/elsewhere'):
        setup_teacher_cache(cfg)


def _loader(cache):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return TRANSFORMS.build(dict(type='LoadTeacherCache', cache_dir=cache))


def _results(stem):
    return dict(stem=stem, img_shape=(128, 160))


def test_missing_sample_names_the_sample(made, tmp_path):
    with pytest.raises(TeacherCacheError, match='sample "nope" is not in the teacher cache'):
        _loader(made['cache'])(_results('nope'))
    out = _copy(made, tmp_path)
    stem = sorted(json.load(open(osp.join(out, 'manifest.json')))['samples'])[0]
    path = osp.join(out, 'samples', f'{stem}.npz')
    os.remove(path)
    with pytest.raises(TeacherCacheError, match=f'sample "{stem}" is missing: {path}'):
        _loader(out)(_results(stem))


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'array'])
def test_corrupt_file_names_the_file(made, tmp_path, damage):
    out = _copy(made, tmp_path)
    stem = sorted(json.load(open(osp.join(out, 'manifest.json')))['samples'])[1]
    path = osp.join(out, 'samples', f'{stem}.npz')
    if damage == 'garbage':
        open(path, 'wb').write(b'not a zip file at all')
    elif damage == 'truncated':
        data = open(path, 'rb').read()
        open(path, 'wb').write(data[: len(data) // 2])
    else:
        z = dict(np.load(path))
        z.pop('rgbt.tail')
        np.savez(path, **z)
    with pytest.raises(TeacherCacheError, match=f'corrupt teacher cache file {path}'):
        _loader(out)(_results(stem))


def test_corrupt_or_incomplete_manifest_names_the_file(made, tmp_path):
    out = _copy(made, tmp_path)
    path = osp.join(out, 'manifest.json')
    m = json.load(open(path))
    m['complete'] = False
    json.dump(m, open(path, 'w'))
    with pytest.raises(TeacherCacheError, match='incomplete'):
        TeacherCache(out)
    open(path, 'w').write('{"format": ')
    with pytest.raises(TeacherCacheError, match=f'{path}: corrupt teacher-cache manifest'):
        TeacherCache(out)
    with pytest.raises(TeacherCacheError, match='manifest.json is missing'):
        TeacherCache(str(tmp_path / 'empty'))


def test_sample_loaded_at_another_size_is_refused(made):
    stem = sorted(TeacherCache(made['cache']).samples)[0]
    with pytest.raises(TeacherCacheError, match='cached at image size'):
        _loader(made['cache'])(dict(stem=stem, img_shape=(64, 80)))


def test_losses_the_cache_cannot_feed_are_refused(made):
    with pytest.raises(ValueError, match='dense teacher logits only'):
        _distiller_with_losses(made, [dict(type='FeatureMSELoss', student='logits',
                                           teacher='rgbt.logits')])
    with pytest.raises(ValueError, match='not in the teacher cache'):
        _distiller_with_losses(made, [dict(type='FeatureMSELoss', student='stage2',
                                           teacher='rgbt.stage2')])


def _distiller_with_losses(made, losses):
    cfg = kd_config(made['data'], made['ckpt'])
    mcfg = cfg.model.to_dict()
    mcfg.update(teacher_cache=made['cache'], distill_losses=losses)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(mcfg)


def _online_and_cached_losses(cfg, cache, indices):
    """Online and cached distillers of ``cfg`` with one student's weights, and their losses and
    pre-processed inputs on the un-augmented samples ``indices`` (the cache read by the real
    loader and packer). Returns ``(losses, inputs, cached_model)``, each dict keyed
    'online' / 'cached'."""
    import copy

    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    ds_cfg = cfg.train_dataloader.dataset.to_dict()
    ds_cfg['pipeline'] = [dict(type='LoadMultiModalFromFile'),
                          dict(type='LoadTeacherCache', cache_dir=cache),
                          dict(type='PackMultiModalInputs')]
    mcfg = cfg.model.to_dict()
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(ds_cfg)
        online = MODELS.build(copy.deepcopy(mcfg))
        cached = MODELS.build(dict(copy.deepcopy(mcfg), teacher_cache=cache))
    cached.student.load_state_dict(online.student.state_dict())
    online.train()
    cached.train()
    batch = pseudo_collate([ds[i] for i in indices])
    losses, inputs = {}, {}
    for name, model in (('online', online), ('cached', cached)):
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        inputs[name] = data['inputs']
        torch.manual_seed(0)  # the same drop-path draws in both students
        losses[name] = model.loss(data['inputs'], data['data_samples'])
    return losses, inputs, cached


def test_cached_step_equals_the_online_step_without_augmentation(made, tmp_path):
    """k = K, full frames, no augmentation: the KD loss from the cache is the online KD loss (up
    to the fp16 storage of the logits), through the real loader, packer and distiller."""
    cache = str(tmp_path / 'k8')
    cfg = kd_config(made['data'], made['ckpt'])
    cache_teachers(cfg, cache, topk=8, progress=False)
    losses, inputs, _ = _online_and_cached_losses(cfg, cache, [0, 3])
    # no teacher runs from the cache: its pre-processor batches the student's RGB only
    assert sorted(inputs['online']) == ['rgb', 'thermal'] and sorted(inputs['cached']) == ['rgb']
    assert torch.equal(inputs['cached']['rgb'], inputs['online']['rgb'])
    a, b = losses['cached']['distill.loss_kd'], losses['online']['distill.loss_kd']
    assert b > 0 and torch.allclose(a, b, rtol=2e-3), (a, b)
    assert torch.equal(losses['cached']['student.decode.loss_ce'],
                       losses['online']['student.decode.loss_ce'])


def test_cached_tap_reaches_a_feature_loss_at_its_own_resolution(made):
    """A cached tap (stage 4, stride 32) is loaded only when a loss uses it, upsampled to the image
    grid and pooled back: on an unaugmented full frame it is the stored map again."""
    import copy

    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    cfg = kd_config(made['data'], made['ckpt'])
    losses = [dict(type='KDLoss', tau=2.0, student='logits', teacher='rgbt.logits'),
              dict(type='FeatureMSELoss', student='stage4', teacher='rgbt.stage4')]
    cfg.model.distill_losses = losses
    cfg.model.teacher_cache = made['cache']
    cfg.train_dataloader.dataset.pipeline = [dict(type='LoadMultiModalFromFile'),
                                             dict(type='PackMultiModalInputs')]
    setup_teacher_cache(cfg)
    assert cfg.train_dataloader.dataset.pipeline[1]['taps'] == ('rgbt.stage4',)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(cfg.train_dataloader.dataset.to_dict())
        model = MODELS.build(copy.deepcopy(cfg.model.to_dict()))
    model.train()
    item = ds[1]
    data = model.data_preprocessor(pseudo_collate([item]), True)
    feat = model.cached_teacher_output('rgbt', 'stage4', data['data_samples'], (128, 160))
    stored = TeacherCache(made['cache']).load(item['data_samples'].stem)['rgbt']['taps']['stage4']
    assert feat.shape == (1, 128, 4, 5)
    assert torch.equal(feat[0], torch.from_numpy(stored.astype(np.float32)))
    out = model.loss(data['inputs'], data['data_samples'])
    names = sorted(k for k in out if k.startswith('distill.'))
    assert len(names) == 2 and all(out[k] > 0 for k in names), names


def test_a_mixed_labelled_unlabelled_dataset_is_refused_with_a_clear_error(made, tmp_path):
    cfg = kd_config(made['data'], made['ckpt'])
    ds = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(type='MixedLabelDataset', labelled=dict(ds),
                                        unlabelled=dict(ds))
    with pytest.raises(ValueError, match='dataset wrapper'):
        cache_teachers(cfg, str(tmp_path / 'c'), topk=2, progress=False)



def _rewrite_meta(data, **changes):
    meta_path = osp.join(data, 'meta.json')
    meta = json.load(open(meta_path))
    meta.update(changes)
    json.dump(meta, open(meta_path, 'w'))
    return meta


def test_registering_another_split_keeps_the_cache_valid(made, tmp_path):
    """data_prep/label_subset.py adds splits to meta.json: a cache of `train` stays valid, while a
    change of this split's own registry entry (now unlabelled) or of the classes makes it stale."""
    data = tiny_v3(tmp_path / 'v3')
    cache = str(tmp_path / 'cache')
    cache_teachers(kd_config(data, made['ckpt']), cache, topk=2, progress=False)
    meta = json.load(open(osp.join(data, 'meta.json')))
    _rewrite_meta(
        data,
        splits=dict(meta.get('splits') or {}, train_l25='train_l25.txt', train_u75='u.txt'),
        unlabelled_splits=['train_u75'],
        label_subsets={'train_l25': {'split': 'train', 'fraction': 0.25}},
    )
    setup_teacher_cache(kd_config(data, made['ckpt'], **{'model.teacher_cache': cache}))
    for change in (dict(unlabelled_splits=['train_u75', 'train']), dict(name='edited')):
        _rewrite_meta(data, **change)
        with pytest.raises(TeacherCacheMismatch, match=r'meta.json \(meta_sha256\)'):
            setup_teacher_cache(kd_config(data, made['ckpt'], **{'model.teacher_cache': cache}))


def test_a_cache_written_before_the_split_scoped_hash_is_still_checked(made, tmp_path):
    """Old manifests hashed meta.json's bytes whole: they are checked that way (valid while the
    file is unchanged, stale after any edit), not refused unread."""
    from crossmodal.teacher_cache.manifest import _identity_sha, sha256_file

    cache = _copy(made, tmp_path)
    path = osp.join(cache, 'manifest.json')

    def write_old(meta_sha):
        manifest = json.load(open(path))
        ds = {k: v for k, v in manifest['dataset'].items() if k not in ('meta_scope', 'sha256')}
        ds['meta_sha256'] = meta_sha
        manifest['dataset'] = dict(ds, sha256=_identity_sha(ds))
        json.dump(manifest, open(path, 'w'))

    cfg_options = {'model.teacher_cache': cache}
    write_old(sha256_file(osp.join(made['data'], 'meta.json')))
    setup_teacher_cache(kd_config(made['data'], made['ckpt'], **cfg_options))  # unchanged: valid
    write_old('0' * 64)
    with pytest.raises(TeacherCacheMismatch, match=r'meta.json \(meta_sha256\)'):
        setup_teacher_cache(kd_config(made['data'], made['ckpt'], **cfg_options))


def test_two_teachers_are_cached_in_one_run_and_each_feeds_its_own_loss(made, tmp_path):
    """A distiller with two teachers (different weights): one cache run writes both teachers'
    top-k per sample, and each cached KD term equals its online term (k = K, no augmentation)."""
    import copy

    ckpt2 = teacher_checkpoint(tmp_path / 'teacher2.pth', seed=1)
    cfg = kd_config(made['data'], made['ckpt'])
    second = copy.deepcopy(cfg.model.teachers.rgbt.to_dict())
    second['checkpoint'] = ckpt2
    cfg.model.teachers['rgbt2'] = second
    kd = copy.deepcopy(cfg.model.distill_losses[0])
    cfg.model.distill_losses = [kd, dict(kd, teacher='rgbt2.logits', name='loss_kd2')]
    cache = str(tmp_path / 'two')
    summary = cache_teachers(cfg, cache, topk=8, progress=False)
    assert summary['teachers'] == ['rgbt', 'rgbt2'] and summary['samples'] == 8
    # both teachers per pixel: 2 x (8 x 2 + 8 x 1 + 2) bytes of 32 x 40 logits
    assert summary['bytes_per_frame'] == 2 * 26 * 32 * 40
    manifest = json.load(open(osp.join(cache, 'manifest.json')))
    shas = {n: t['checkpoint_sha256'] for n, t in manifest['teachers'].items()}
    assert sorted(shas) == ['rgbt', 'rgbt2'] and shas['rgbt'] != shas['rgbt2']
    first = sorted(manifest['samples'])[0]
    with np.load(osp.join(cache, manifest['samples'][first]['file'])) as z:
        assert {'rgbt.values', 'rgbt2.values', 'rgbt.tail', 'rgbt2.tail'} <= set(z.files)
        assert not np.array_equal(z['rgbt.values'], z['rgbt2.values'])

    losses, _, cached = _online_and_cached_losses(cfg, cache, [1, 2])
    assert len(cached.teachers) == 0
    keys = sorted(k for k in losses['online'] if k.startswith('distill.'))
    assert keys == ['distill.loss_kd2', 'distill.loss_kd_rgbt']  # one term per teacher
    assert sorted(k for k in losses['cached'] if k.startswith('distill.')) == keys
    for key in keys:
        a, b = losses['cached'][key], losses['online'][key]
        assert b > 0 and torch.allclose(a, b, rtol=2e-3), (key, a, b)
    assert not torch.allclose(*(losses['online'][k] for k in keys))  # two different teachers


def test_two_shards_write_one_cache_equal_to_a_single_process_one(made, tmp_path):
    """--shard 0/2 then 1/2 (as two processes of a launcher would): the first leaves the cache
    incomplete and says how many samples are missing, the second completes the manifest; every
    sample file equals the single-process cache's."""
    cfg = kd_config(made['data'], made['ckpt'])
    out = str(tmp_path / 'sharded')
    first = cache_teachers(cfg, out, topk=3, taps=['stage4'], progress=False, shard=(0, 2))
    assert first['complete'] is False and first['written'] == 4 and first['missing'] == 4
    assert json.load(open(osp.join(out, 'manifest.json')))['complete'] is False
    with pytest.raises(TeacherCacheError, match='incomplete|complete'):
        TeacherCache(out)
    second = cache_teachers(cfg, out, topk=3, taps=['stage4'], progress=False, shard=(1, 2))
    assert second['complete'] is True and second['written'] == 4 and second['samples'] == 8
    assert second['bytes_per_frame'] == made['summary']['bytes_per_frame']
    ours = json.load(open(osp.join(out, 'manifest.json')))
    ref = json.load(open(osp.join(made['cache'], 'manifest.json')))
    assert ours['complete'] and ours['samples'] == ref['samples']
    assert ours['tap_shapes'] == ref['tap_shapes'] and ours['dataset'] == ref['dataset']
    for stem, entry in ref['samples'].items():
        with np.load(osp.join(out, entry['file'])) as a, \
                np.load(osp.join(made['cache'], entry['file'])) as b:
            assert sorted(a.files) == sorted(b.files)
            assert all(np.array_equal(a[k], b[k]) for k in a.files), stem
    with pytest.raises(ValueError, match='shard'):
        cache_teachers(cfg, out, topk=3, taps=['stage4'], progress=False, shard=(2, 2))
    assert json.load(open(osp.join(out, 'manifest.json')))['complete']  # refused before writing


def test_cache_teacher_tool_shard_option_and_launcher_env(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        'cache_teacher_tool', osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))),
                                       'tools', 'cache_teacher.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.delenv('WORLD_SIZE', raising=False)
    assert tool.parse_shard(None) == (0, 1) and tool.parse_shard('1/4') == (1, 4)
    monkeypatch.setenv('WORLD_SIZE', '3')
    monkeypatch.setenv('RANK', '2')
    assert tool.parse_shard(None) == (2, 3)  # torchrun's variables
    for bad in ('4/4', 'a/b', '1'):
        with pytest.raises(SystemExit, match='shard'):
            tool.parse_shard(bad)
