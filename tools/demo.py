#!/usr/bin/env python
"""The main job on the embedded dataset, end to end (what ``make demo`` runs).

1. generate the embedded RGB-T dataset (``data_prep/synthetic.py``; skipped when present),
2. train a small RGB-X teacher (``tools/train.py``) and evaluate it (``tools/test.py``),
3. train an RGB-only SegFormer student with the same iterations and seed, evaluate it,
4. if the distillation engine is installed, distil the teacher into the same student and
   evaluate it,
5. print a table (model, modalities, mIoU, params, time) and write ``summary.json`` and a
   per-class bar chart ``miou.png`` to the work dir.

Each tool's full output goes to a log in the work dir; while a model trains, a progress line
(iteration, loss, ETA) is printed about 20 times per stage.

    python tools/demo.py [--work-dir work_dirs/demo] [--variant rgbt|rgbd] [--iters 600] [--seed 0]
"""

import argparse
import contextlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIGS = {
    'teacher': 'configs/teachers/rgbx-sff-segformer_mit-t_600it_synthetic-{v}-128x160.py',
    'student': 'configs/students/segformer_mit-t_600it_synthetic-{v}-128x160.py',
}


_ITER_LINE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\](.*)')


def log_interval(iters):
    """Logger interval of the demo's training runs: about 20 progress lines per stage."""
    return max(1, min(50, iters // 20))


def progress_line(line, name):
    """A short progress line (iterations, loss, ETA) for an mmengine training log line, else
    None."""
    m = _ITER_LINE.search(line)
    if not m:
        return None
    rest = m.group(3)
    eta = re.search(r'\beta:\s*(\S+)', rest)
    loss = re.search(r'(?<![\w.])loss:\s*(\S+)', rest)
    out = f'[demo] {name}: iter {m.group(1)}/{m.group(2)}'
    if loss:
        out += f'  loss {loss.group(1)}'
    if eta:
        out += f'  eta {eta.group(1)}'
    return out


def _pump(src, log, name, out_fd):
    """Copy a child's output to its log; echo progress lines (and skip warnings) to ``out_fd``."""
    for raw in iter(src.readline, b''):
        log.write(raw)
        log.flush()
        if name is None:
            continue
        text = raw.decode('utf-8', 'replace')
        line = progress_line(text, name)
        if line is None and 'FiniteLossHook' in text:
            line = f'[demo] {name}: ' + text.strip()
        if line is not None:
            os.write(out_fd, (line + '\n').encode())


def run(cmd, log_path, name=None):
    """Run a tool with its output in ``log_path``; show training progress lines (iterations, loss,
    ETA) when ``name`` is given; raise with the log tail on failure."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    t0 = time.perf_counter()
    sys.stdout.flush()
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        _pump(proc.stdout, log, name, sys.stdout.fileno())
        proc.stdout.close()
        proc.wait()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-4000:]
        raise SystemExit(
            f'command failed ({proc.returncode}): {" ".join(cmd)}\n--- {log_path} ---\n{tail}'
        )
    return elapsed


@contextlib.contextmanager
def redirect_output(path, name=None):
    """Send this process's stdout/stderr (file descriptors 1 and 2) to ``path`` for a while; with
    ``name``, training progress lines still reach the terminal (see :func:`progress_line`)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    rd, wr = os.pipe()
    log, src = open(path, 'wb'), os.fdopen(rd, 'rb')
    echo = os.dup(saved[0])  # the pump's own copy of the terminal: it may outlive this block

    def pump():
        try:
            _pump(src, log, name, echo)
        finally:
            src.close()
            log.close()
            os.close(echo)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    os.dup2(wr, 1)
    os.dup2(wr, 2)
    os.close(wr)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)  # the pipe's writers are gone: the pump reads to EOF
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        # a forked dataloader worker still alive holds the pipe open: do not wait for it forever
        thread.join(timeout=10)


def train_and_test(name, config, work_dir, iters, seed, extra=()):
    wd = osp.join(work_dir, name)
    os.makedirs(wd, exist_ok=True)
    warmup = min(50, max(iters // 5, 1))
    opts = [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'randomness.seed={seed}',
        f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={iters}',
        f'default_hooks.logger.interval={log_interval(iters)}',
        *extra,
    ]
    print(f'[demo] training {name}: {config} ({iters} iterations, seed {seed})', flush=True)
    t_train = run(
        [sys.executable, 'tools/train.py', config, '--work-dir', wd, '--cfg-options', *opts],
        osp.join(wd, 'train.log'),
        name=name,
    )
    ckpt = osp.join(wd, f'iter_{iters}.pth')
    out = osp.join(wd, 'test_results.json')
    print(f'[demo] evaluating {name} ({t_train:.0f} s of training)', flush=True)
    run(
        [
            sys.executable,
            'tools/test.py',
            config,
            ckpt,
            '--work-dir',
            wd,
            '--out',
            out,
            *(['--cfg-options', *extra] if extra else []),
        ],
        osp.join(wd, 'test.log'),
    )
    with open(out) as f:
        res = json.load(f)
    res.update(name=name, train_time_s=round(t_train, 1), checkpoint=ckpt)
    return res


def print_table(rows):
    head = f"{'model':<22} {'modalities':<14} {'mIoU':>7} {'params':>9} {'train s':>8}"
    print('\n' + head + '\n' + '-' * len(head))
    for r in rows:
        print(
            f"{r['name']:<22} {','.join(r['modalities']):<14} {r['metrics']['mIoU']:>7.2f} "
            f"{r['num_params'] / 1e6:>8.2f}M {r['train_time_s']:>8.1f}"
        )


def plot(rows, path):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    classes = [k[4:] for k in rows[0]['metrics'] if k.startswith('IoU.')]
    x = np.arange(len(classes))
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, r in enumerate(rows):
        vals = [r['metrics'].get(f'IoU.{c}', 0.0) for c in classes]
        ax.bar(
            x + i * width,
            vals,
            width,
            label=f"{r['name']} ({'+'.join(r['modalities'])}) mIoU {r['metrics']['mIoU']:.1f}",
        )
    ax.set_xticks(x + width * (len(rows) - 1) / 2, classes)
    ax.set_ylabel('IoU (%)')
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc='upper right')
    ax.set_title('crossmodal demo: per-class IoU on the embedded test split')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--variant', default='rgbt', choices=['rgbt', 'rgbd'])
    p.add_argument('--iters', type=int, default=600)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-distill', action='store_true', help='skip the distilled student')
    a = p.parse_args(argv)
    t_start = time.perf_counter()
    work_dir = osp.abspath(a.work_dir)
    os.makedirs(work_dir, exist_ok=True)

    from data_prep.synthetic import generate

    data_root = osp.join(ROOT, 'data', f'synthetic_{a.variant}')
    meta = generate(data_root, a.variant, progress=True, replace_own=True)
    print(f"[demo] dataset {meta['name']} at {data_root}", flush=True)

    rows = [
        train_and_test(
            'teacher', CONFIGS['teacher'].format(v=a.variant), work_dir, a.iters, a.seed
        ),
        train_and_test(
            'student', CONFIGS['student'].format(v=a.variant), work_dir, a.iters, a.seed
        ),
    ]
    if not a.no_distill:
        try:
            from crossmodal.apis.demo import run_distill_demo
        except ImportError:
            run_distill_demo = None
        if run_distill_demo is not None:
            print('[demo] distilling the teacher into the RGB student', flush=True)
            log = osp.join(work_dir, 'distilled.log')
            with redirect_output(log, name='distilled'):
                row = run_distill_demo(
                    work_dir=work_dir,
                    teacher_ckpt=rows[0]['checkpoint'],
                    seed=a.seed,
                    iters=a.iters,
                    variant=a.variant,
                )
            print(
                f"[demo] evaluated distilled ({row['train_time_s']:.0f} s of training; log {log})",
                flush=True,
            )
            rows.append(row)
    print_table(rows)
    gap = rows[0]['metrics']['mIoU'] - rows[1]['metrics']['mIoU']
    print(f'\nteacher - student mIoU: {gap:+.2f} points (the extra modality at work)')
    summary = dict(
        variant=a.variant,
        iters=a.iters,
        seed=a.seed,
        rows=rows,
        total_time_s=round(time.perf_counter() - t_start, 1),
    )
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    plot(rows, osp.join(work_dir, 'miou.png'))
    print(
        f"[demo] done in {summary['total_time_s']:.0f} s; summary.json and miou.png in {work_dir}"
    )
    return summary


if __name__ == '__main__':
    main()
