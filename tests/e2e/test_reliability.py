"""Nothing lost, nothing silently wrong: real tools/train.py runs on tiny data with a NaN sample,
a SIGKILL in the middle of a checkpoint write, and a --resume of a finished run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import torch

from crossmodal.compat import load_checkpoint_file

from e2e_helpers import ROOT, TEACHER_CFG, run_tool, tool_env, write_tiny_config


def _weights(path):
    return load_checkpoint_file(str(path))['state_dict']


def _all_finite(sd):
    return all(bool(torch.isfinite(v).all()) for v in sd.values() if v.is_floating_point())


def _nan_dataset(src, dst, nan_stem):
    """A copy of the tiny dataset whose thermal modality is float .npy, with one file holding huge
    finite values (3e38): the loader accepts it (it refuses NaN/inf itself, see
    tests/datasets/test_data_contract.py), the forward pass overflows and the loss is non-finite."""
    shutil.copytree(src, dst)
    meta_path = os.path.join(dst, 'meta.json')
    meta = json.loads(open(meta_path).read())
    th = meta['modalities']['thermal']
    folder = os.path.join(dst, th['folder'])
    import cv2

    for name in sorted(os.listdir(folder)):
        stem = os.path.splitext(name)[0]
        arr = cv2.imread(os.path.join(folder, name), cv2.IMREAD_UNCHANGED).astype(np.float32)
        if stem == nan_stem:
            arr[:] = 3e38
        np.save(os.path.join(folder, stem + '.npy'), arr)
        os.remove(os.path.join(folder, name))
    th['ext'] = '.npy'
    th.pop('dtype', None)
    with open(meta_path, 'w') as f:
        json.dump(meta, f)
    return str(dst)


def _nan_config(tmp_path, data_root, max_iters, extra=''):
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, data_root, max_iters=max_iters, ckpt_interval=2
    )
    # no shuffling: batch 2 over stems 00000..00007, so iteration 4 is stems 00006 and 00007
    with open(cfg, 'a') as f:
        f.write(
            "train_dataloader.update(sampler=dict(type='InfiniteSampler', shuffle=False))\n" + extra
        )
    return cfg


def test_nan_input_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, tiny_rgbt):
    data = _nan_dataset(tiny_rgbt, tmp_path / 'data', nan_stem='00006')
    cfg = _nan_config(tmp_path, data, max_iters=6)
    wd = tmp_path / 'wd'
    proc = run_tool('tools/train.py', cfg, '--work-dir', str(wd), check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-3000:]
    assert 'NonFiniteLossError' in log and 'non-finite loss at iteration 4 of 6' in log, log[-3000:]
    assert (
        ('loss=nan' in log or 'loss=inf' in log) and '00006' in log and 'Thermal/00006.npy' in log
    )
    # the iteration-4 checkpoint (due at the same after_train_iter) was not written; iter_2 stays
    assert not (wd / 'iter_4.pth').exists() and not list(wd.glob('*.tmp'))
    assert (wd / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    assert _all_finite(_weights(wd / 'iter_2.pth'))


def test_nan_input_with_skip_action_finishes_with_finite_weights(tmp_path, tiny_rgbt):
    data = _nan_dataset(tiny_rgbt, tmp_path / 'data', nan_stem='00006')
    cfg = _nan_config(
        tmp_path,
        data,
        max_iters=6,
        extra=(
            "custom_hooks = [dict(type='RNGStateHook'), "
            "dict(type='FiniteLossHook', action='skip')]\n"
        ),
    )
    wd = tmp_path / 'wd'
    proc = run_tool('tools/train.py', cfg, '--work-dir', str(wd))
    log = proc.stdout + proc.stderr
    assert 'skipped the optimizer step of iteration 4 of 6' in log and '00006' in log
    assert 'skipped steps: 1 so far' in log and 'skipped steps: 1 of 6 iterations' in log
    sd = _weights(wd / 'iter_6.pth')
    assert _all_finite(sd)
    # buffers too (BatchNorm statistics the NaN forward pass touched were restored)
    assert all(bool(torch.isfinite(v).all()) for k, v in sd.items() if 'running_' in k)
    assert load_checkpoint_file(str(wd / 'iter_6.pth'))['finite_loss']['skipped'] == 1


_PAUSING_TRAIN = textwrap.dedent('''
    """tools/train.py whose N-th checkpoint write stops half-way (file flushed), signals, and
    hangs."""
    import os, runpy, sys, time
    from mmengine.fileio.backends import local_backend
    original, count = local_backend.LocalBackend.put, [0]

    def put(self, obj, filepath):
        if str(filepath).endswith(('.pth', '.pth.tmp')):
            count[0] += 1
            if count[0] == int(os.environ['PAUSE_AT_SAVE']):
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                    f.flush()
                    os.fsync(f.fileno())
                open(os.environ['PAUSE_MARKER'], 'w').close()
                time.sleep(3600)
        return original(self, obj, filepath)

    local_backend.LocalBackend.put = put
    sys.argv = [os.environ['TRAIN_PY']] + sys.argv[1:]
    runpy.run_path(os.environ['TRAIN_PY'], run_name='__main__')
''')


def test_sigkill_during_checkpoint_write_resumes_from_previous_checkpoint(tmp_path, tiny_rgbt):
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, tiny_rgbt, max_iters=6, ckpt_interval=2
    )
    with open(cfg, 'a') as f:
        f.write("default_hooks.update(checkpoint=dict(interval=2, max_keep_ckpts=1))\n")
    ref = tmp_path / 'ref'
    run_tool('tools/train.py', cfg, '--work-dir', str(ref))
    assert sorted(p.name for p in ref.glob('*.pth')) == ['iter_6.pth']  # max_keep_ckpts=1 holds

    script = tmp_path / 'pausing_train.py'
    script.write_text(_PAUSING_TRAIN)
    marker = tmp_path / 'paused'
    env = dict(
        tool_env(),
        PAUSE_AT_SAVE='2',
        PAUSE_MARKER=str(marker),
        TRAIN_PY=os.path.join(ROOT, 'tools', 'train.py'),
    )
    wd = tmp_path / 'killed'
    proc = subprocess.Popen(
        [sys.executable, str(script), cfg, '--work-dir', str(wd)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 240
        while not marker.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f'the second checkpoint write never started (rc {proc.poll()})'
        proc.send_signal(signal.SIGKILL)  # half of the iteration-4 checkpoint is on disk
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the previous checkpoint and a last_checkpoint naming it survived; the partial file is a .tmp
    assert (wd / 'iter_2.pth').exists() and not (wd / 'iter_4.pth').exists()
    assert (wd / 'iter_4.pth.tmp').exists()
    assert (wd / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')

    proc = run_tool('tools/train.py', cfg, '--work-dir', str(wd), '--resume')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log and 'removed iter_4.pth.tmp' in log
    a, b = _weights(ref / 'iter_6.pth'), _weights(wd / 'iter_6.pth')
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f'{k} differs after the kill and resume'
    assert sorted(p.name for p in wd.glob('*.pth*')) == ['iter_6.pth']


def test_resume_of_a_finished_run_says_so_and_more_iters_continue(tmp_path, tiny_rgbt):
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, tiny_rgbt, max_iters=2, ckpt_interval=2
    )
    wd = tmp_path / 'wd'
    run_tool('tools/train.py', cfg, '--work-dir', str(wd))
    before = _weights(wd / 'iter_2.pth')
    proc = run_tool('tools/train.py', cfg, '--work-dir', str(wd), '--resume')
    log = proc.stdout + proc.stderr
    assert 'the run is finished' in log and 'train_cfg.max_iters=<more than 2>' in log, log[-3000:]
    assert 'Advance dataloader' not in log and 'Iter(train)' not in log
    for k, v in _weights(wd / 'iter_2.pth').items():
        assert torch.equal(v, before[k])
    proc = run_tool(
        'tools/train.py',
        cfg,
        '--work-dir',
        str(wd),
        '--resume',
        '--cfg-options',
        'train_cfg.max_iters=3',
        'train_cfg.val_interval=3',
    )
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log and 'Iter(train) [3/3]' in log
    assert (wd / 'iter_3.pth').exists()


def test_save_best_checkpoints_are_atomic_and_the_previous_best_goes_after(tmp_path, tiny_rgbt):
    """SafeCheckpointHook's save_best path (schedule_40k.py uses save_best='mIoU')."""
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, tiny_rgbt, max_iters=4, ckpt_interval=2
    )
    with open(cfg, 'a') as f:
        f.write(
            "default_hooks.update(checkpoint=dict(interval=2, max_keep_ckpts=1, save_best='mIoU', "
            "rule='greater'))\ntrain_cfg.update(val_interval=2)\n"
        )
    wd = tmp_path / 'wd'
    proc = run_tool('tools/train.py', cfg, '--work-dir', str(wd))
    log = proc.stdout + proc.stderr
    assert 'The best checkpoint with' in log
    names = sorted(p.name for p in wd.glob('*.pth*'))
    assert len([n for n in names if n.startswith('best_mIoU_iter_')]) == 1, names
    assert 'iter_4.pth' in names and not [n for n in names if n.endswith('.tmp')]
    best = next(wd.glob('best_mIoU_iter_*.pth'))
    assert load_checkpoint_file(str(best))['message_hub']['runtime_info']['best_ckpt'].endswith(
        best.name
    )
