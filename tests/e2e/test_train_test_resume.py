"""tools/train.py, tools/test.py, --resume and tools/dist_train.sh on tiny data, as a user runs
them."""

import json
import os
import signal
import subprocess
import sys
import time

import torch

from crossmodal.compat import load_checkpoint_file

from e2e_helpers import ROOT, STUDENT_CFG, TEACHER_CFG, run_tool, tool_env, write_tiny_config


def _weights(path):
    return load_checkpoint_file(path)['state_dict']


def test_train_then_test_teacher(tmp_path, tiny_rgbt):
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, tiny_rgbt, max_iters=2, ckpt_interval=2
    )
    wd = tmp_path / 'wd'
    proc = run_tool('tools/train.py', cfg, '--work-dir', str(wd))
    assert 'Iter(train) [2/2]' in proc.stdout + proc.stderr
    ckpt = wd / 'iter_2.pth'
    assert ckpt.exists()
    out = tmp_path / 'res.json'
    proc = run_tool('tools/test.py', cfg, str(ckpt), '--work-dir', str(wd), '--out', str(out))
    res = json.loads(out.read_text())
    assert res['model'] == 'MultiModalEncoderDecoder' and res['modalities'] == ['rgb', 'thermal']
    assert 0.0 <= res['metrics']['mIoU'] <= 100.0 and 'IoU.person' in res['metrics']
    assert res['num_params'] > 0


def test_student_trains_on_rgb_only_with_amp(tmp_path, tiny_rgbt):
    cfg = write_tiny_config(
        tmp_path / 'student.py', STUDENT_CFG, tiny_rgbt, max_iters=2, ckpt_interval=2, student=True
    )
    wd = tmp_path / 'wd'
    proc = run_tool(
        'tools/train.py',
        cfg,
        '--work-dir',
        str(wd),
        '--amp',
        '--cfg-options',
        'model.decode_head.channels=32',
    )
    assert 'CPUBF16OptimWrapper' in proc.stdout + proc.stderr
    res_path = tmp_path / 'r.json'
    run_tool(
        'tools/test.py',
        cfg,
        str(wd / 'iter_2.pth'),
        '--out',
        str(res_path),
        '--cfg-options',
        'model.decode_head.channels=32',
    )
    res = json.loads(res_path.read_text())
    assert res['model'] == 'EncoderDecoder' and res['modalities'] == ['rgb']


def test_killed_run_resumes_to_the_same_weights(tmp_path, tiny_rgbt):
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, tiny_rgbt, max_iters=4, ckpt_interval=2
    )
    ref = tmp_path / 'ref'
    run_tool('tools/train.py', cfg, '--work-dir', str(ref))

    wd = tmp_path / 'killed'
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', cfg, '--work-dir', str(wd)],
        cwd=ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = wd / 'iter_2.pth'
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if first.exists() and (wd / 'last_checkpoint').exists():
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=60)
    assert first.exists()
    # whatever the killed run got to write after its first checkpoint is discarded
    for extra in wd.glob('iter_*.pth'):
        if extra.name != 'iter_2.pth':
            extra.unlink()
    (wd / 'last_checkpoint').write_text(str(first))

    proc = run_tool('tools/train.py', cfg, '--work-dir', str(wd), '--resume')
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    a, b = _weights(str(ref / 'iter_4.pth')), _weights(str(wd / 'iter_4.pth'))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f'{k} differs after resume'
    # and the resumed run really continued from iteration 2, not from scratch
    assert not torch.equal(
        _weights(str(first))['decode_head.conv_seg.weight'], b['decode_head.conv_seg.weight']
    )


def test_dist_train_two_cpu_processes(tmp_path, tiny_rgbt):
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, tiny_rgbt, max_iters=2, ckpt_interval=2
    )
    wd = tmp_path / 'dist'
    env = tool_env()
    env['PYTHON'] = sys.executable
    env['PORT'] = str(29500 + os.getpid() % 1000)
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(wd)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert (wd / 'iter_2.pth').exists()
    assert (
        'world_size: 2' in log
        or 'World size: 2' in log
        or "'world_size': 2" in log
        or 'Distributed launcher: pytorch' in log
    )
