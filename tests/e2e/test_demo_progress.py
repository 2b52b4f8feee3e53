"""`make demo` shows training progress (iterations, loss, ETA) instead of minutes of silence."""

import importlib.util
import os

from e2e_helpers import ROOT, TEACHER_CFG, write_tiny_config


def _demo():
    spec = importlib.util.spec_from_file_location(
        'crossmodal_demo_tool', os.path.join(ROOT, 'tools', 'demo.py')
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_demo_training_prints_progress_lines(tmp_path, tiny_rgbt, capfd):
    demo = _demo()
    cfg = write_tiny_config(
        tmp_path / 'teacher.py', TEACHER_CFG, tiny_rgbt, max_iters=4, ckpt_interval=4
    )
    with open(cfg, 'a') as f:  # the demo's schedule overrides expect warm-up + poly
        f.write(
            "param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,\n"
            "    end=1),\n"
            "    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1, end=4, by_epoch=False)]\n"
        )
    res = demo.train_and_test('teacher', cfg, str(tmp_path / 'demo'), iters=4, seed=0)
    out = capfd.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith('[demo] teacher: iter ')]
    assert len(lines) == 4, out  # logger interval 1 for 4 iterations
    assert lines[-1].startswith('[demo] teacher: iter 4/4  loss ') and '  eta ' in lines[-1]
    assert 'mmengine' not in out  # the full log stays in the file
    assert 'Iter(train) [4/4]' in (tmp_path / 'demo' / 'teacher' / 'train.log').read_text()
    assert 0.0 <= res['metrics']['mIoU'] <= 100.0


def test_in_process_distillation_output_shows_progress(tmp_path, capfd):
    demo = _demo()
    log = tmp_path / 'distilled.log'
    with demo.redirect_output(str(log), name='distilled'):
        # file descriptors, as the mmengine logger's stream handler and C extensions write them
        os.write(
            1,
            b'12/01 09:00:00 - mmengine - INFO - Iter(train) [ 30/600]  base_lr: 1.0e-03 '
            b'lr: 1.0e-03  eta: 0:01:02  time: 0.1053  data_time: 0.0042  memory: 0  '
            b'loss: 1.2345  decode.loss_ce: 0.9\n',
        )
        os.write(2, b'some other output\n')
    out = capfd.readouterr().out
    assert '[demo] distilled: iter 30/600  loss 1.2345  eta 0:01:02' in out
    assert 'some other output' not in out
    assert 'some other output' in log.read_text() and 'Iter(train) [ 30/600]' in log.read_text()
