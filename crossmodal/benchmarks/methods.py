"""Methods x seeds on the embedded benchmark: mean +- std, paired 95 % CI against the twin, gap
recovered (``tools/benchmark.py methods``).

The harness drives the configs exactly as a user would: every run is a ``tools/train.py`` (or
``tools/train_stages.py``) process and every test score a ``tools/test.py`` process, with the seed,
the teacher checkpoint and (for smoke runs) the schedule passed as ``--cfg-options``; the validation
score is the training run's own end-of-training validation (its ``scalars.json``), or a
``tools/test.py`` run on the val split for rows with ``eval_options`` or an ``eval_config``. A suite
(:mod:`crossmodal.benchmarks.suites`) lists the rows: the teachers, the RGB-only twin and the
methods, each with its config and up to 4 candidate settings of its main weight.

Protocol (docs/benchmarks.md):

- ``--phase select``: each candidate setting of each row trains with the selection seeds and is
  scored on the **validation** split only; the best setting (highest val mIoU, or lowest MAE) is
  written to ``selection.json``. The table states the budget (settings tried).
- ``--phase final`` (default): each row trains with its selected setting (or its default) for
  every seed and is scored on val and, once, on the **test** split.
- ``--report``: trains nothing; summarises the finished runs and lists the missing ones.
- Teachers train once (seed 0) and are shared by every distillation row of their variant; the
  twin and the methods train for every seed. The twin and a method with the same seed start from
  the same initial student and see the same data order, so differences are paired by seed.

Results (``--work-dir``, default ``work_dirs/benchmark_v3``): ``runs/<row>/<setting>/seed<k>/``
holds each run's work dir and its ``result.json`` (written last: a run with one is complete and is
skipped when the harness runs again, so an interrupted benchmark resumes where it stopped);
``results.json`` (every run and the summary), ``results.md`` (the table) and ``results.png`` (the
plot) are rewritten at the end. Statistics: per row mean +- sample std over seeds; difference to
the twin with a 95 % Student-t interval of the per-seed paired differences; fraction of the
teacher-twin gap recovered = mean difference / (teacher - twin mean).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Union

from crossmodal.evaluation.strict_json import to_strict_json

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# two-sided 95 % Student-t quantiles t_{0.975, df}, df = 1..30
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def t975(df: int) -> float:
    """Two-sided 95 % Student-t quantile for ``df`` degrees of freedom (normal above 30)."""
    if df < 1:
        return float('nan')
    return _T975[df - 1] if df <= len(_T975) else 1.96


def mean_std(xs: Sequence[float]) -> Dict[str, float]:
    """``dict(mean, std, n)``; std is the sample std (ddof 1; nan for one value)."""
    n = len(xs)
    m = sum(xs) / n if n else float('nan')
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else float('nan')
    return dict(mean=m, std=sd, n=n)


def paired_ci(a: Sequence[float], b: Sequence[float]) -> Dict[str, float]:
    """Mean of ``a - b`` (paired by position) with its 95 % Student-t interval.

    Returns ``dict(diff, lo, hi, n)``; lo/hi are nan with fewer than two pairs.
    """
    d = [x - y for x, y in zip(a, b)]
    s = mean_std(d)
    half = t975(s['n'] - 1) * s['std'] / math.sqrt(s['n']) if s['n'] > 1 else float('nan')
    return dict(diff=s['mean'], lo=s['mean'] - half, hi=s['mean'] + half, n=s['n'])


# ----------------------------------------------------------------------------- running
def _cfg_value(v) -> str:
    if isinstance(v, str):
        return v
    return json.dumps(v).replace(' ', '')


def _options_args(options: Dict) -> List[str]:
    return [f'{k}={_cfg_value(v)}' for k, v in options.items()]


def schedule_options(iters: int, config: Optional[str] = None) -> Dict:
    """Overrides that shorten a run to ``iters`` iterations (smoke runs): the demo's rule (warm-up
    then main scheduler) for a config with two schedulers; a config with one scheduler (MST-Distill
    stage 3) gets it over the whole run. ``config`` None assumes two."""
    from crossmodal.apis.demo import schedule_options as demo_schedule

    opts = demo_schedule(iters)
    if config is not None:
        from mmengine.config import Config

        n = len(Config.fromfile(config).get('param_scheduler') or [])
        if n != 2:
            opts = {k: v for k, v in opts.items() if not k.startswith('param_scheduler.')}
            if n == 1:
                opts.update({'param_scheduler.0.begin': 0, 'param_scheduler.0.end': iters})
            elif n > 2:
                raise ValueError(f'{config}: {n} param schedulers; smoke schedules handle 1 or 2')
    return opts


def teacher_options(config: str, checkpoint: Union[str, Dict[str, str]]) -> Dict:
    """``model.teachers.<name>.checkpoint`` for every teacher a distillation config declares.

    ``checkpoint`` is one path for every teacher, or ``{teacher key: path}`` naming each teacher of
    the config (a key the config lacks, or a teacher left without a path, is an error)."""
    from mmengine.config import Config

    model = Config.fromfile(config).get('model') or {}
    if 'teacher_checkpoint' in model:  # one-teacher distillers (FSKD, MST stages)
        if isinstance(checkpoint, dict):
            if len(checkpoint) != 1:
                raise ValueError(f'{config} has one teacher (model.teacher_checkpoint); got '
                                 f'checkpoints for {sorted(checkpoint)}')
            checkpoint = next(iter(checkpoint.values()))
        return {'model.teacher_checkpoint': checkpoint}
    keys = list(model.get('teachers') or {})
    if not keys:  # e.g. a recipe's stage without teachers (GKD stage 2)
        return {}
    if not isinstance(checkpoint, dict):
        return {f'model.teachers.{t}.checkpoint': checkpoint for t in keys}
    unknown = sorted(set(checkpoint) - set(keys))
    left = sorted(set(keys) - set(checkpoint))
    if unknown or left:
        raise ValueError(f'{config}: teachers {keys}; checkpoints given for {sorted(checkpoint)}'
                         + (f' (unknown: {unknown})' if unknown else '')
                         + (f' (no checkpoint: {left})' if left else ''))
    return {f'model.teachers.{t}.checkpoint': checkpoint[t] for t in keys}


class RunError(RuntimeError):
    """A training or test process failed; names the command and the log file."""


def _run(cmd: List[str], log: str, threads: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               PYTHONUNBUFFERED='1')
    t0 = time.perf_counter()
    with open(log, 'a') as f:
        f.write('$ ' + ' '.join(cmd) + '\n')
        f.flush()
        rc = subprocess.call(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        raise RunError(f'exit {rc}: {" ".join(cmd)} (log: {log})')
    return time.perf_counter() - t0


def evaluate(config: str, ckpt: str, work_dir: str, split: str, log: str, threads: int,
             options: Optional[Dict] = None) -> Dict[str, float]:
    """Score ``ckpt`` on ``split`` with ``tools/test.py``; returns its metrics dict."""
    out = osp.join(work_dir, f'{split}_results.json')
    opts = dict(options or {})
    opts['test_dataloader.dataset.split'] = split
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'test.py'), config, ckpt,
           '--work-dir', osp.join(work_dir, f'eval_{split}'), '--out', out,
           '--cfg-options', *_options_args(opts)]
    _run(cmd, log, threads)
    with open(out) as f:
        res = json.load(f)
    return {k: float(v) for k, v in res.get('metrics', res).items()
            if isinstance(v, (int, float))}


def select_alpha(config: str, ckpt: str, work_dir: str, split: str, log: str, threads: int,
                 options: Optional[Dict] = None, data_root: Optional[str] = None,
                 alphas: Optional[Sequence[float]] = None) -> Dict:
    """``tools/select_alpha.py`` on ``split`` (a DHO student's head mix): its JSON summary
    (``mIoU`` per alpha, ``best_alpha``, ``best_mIoU``)."""
    out = osp.join(work_dir, f'{split}_alpha.json')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'select_alpha.py'), config, ckpt,
           '--split', split, '--out', out, '--no-progress']
    if alphas:
        cmd += ['--alphas', *[f'{a:g}' for a in alphas]]
    if data_root:
        cmd += ['--data-root', data_root]
    if options:
        cmd += ['--cfg-options', *_options_args(options)]
    _run(cmd, log, threads)
    with open(out) as f:
        return json.load(f)


def stages_recipe(recipe: str, teacher_ckpt: Optional[Union[str, Dict[str, str]]],
                  iters: Optional[int], out: str) -> str:
    """A copy of a ``tools/train_stages.py`` recipe whose stages get, through their own
    ``cfg_options``, the teacher checkpoint(s) when they declare teachers and the smoke schedule of
    ``iters`` fitted to each stage's schedulers (a command-line ``--cfg-options`` reaches every
    stage alike and wins over a stage's own). Stage configs become absolute paths."""
    from mmengine.config import Config

    from crossmodal.apis.train_stages import resolve_stage_config

    stages = []
    for st in Config.fromfile(recipe).stages:
        st = dict(st)
        st['config'] = osp.abspath(resolve_stage_config(recipe, st['config']))
        opts = dict(st.get('cfg_options') or {})
        if teacher_ckpt:
            opts.update(teacher_options(st['config'], teacher_ckpt))
        if iters:
            opts.update(schedule_options(iters, st['config']))
        st['cfg_options'] = opts
        stages.append(st)
    with open(out, 'w') as f:
        f.write(f'# written by tools/benchmark.py methods from {recipe}\nstages = {stages!r}\n')
    return out


_CACHE_LOCKS: Dict[str, threading.Lock] = {}
_CACHE_LOCKS_GUARD = threading.Lock()


def teacher_cache_dir(teacher_ckpt: str, cache: Dict) -> str:
    """Where a row's teacher cache lives: next to the teacher run it was made from (``<teacher
    run>/cache-k<k>[-<taps>]``), shared by every seed and row with the same k and taps."""
    taps = '-'.join(cache.get('taps') or ())
    return osp.join(osp.dirname(teacher_ckpt), f'cache-k{int(cache.get("topk", 4))}'
                    + (f'-{taps}' if taps else ''))


def make_teacher_cache(config: str, teacher_ckpt: Union[str, Dict[str, str]], cache: Dict,
                       log: str, threads: int, data_root: Optional[str] = None) -> str:
    """Run ``tools/cache_teacher.py`` for ``config``'s teachers (resumable: a finished cache is
    only re-checked); one job of this process at a time per cache dir (samples are written
    atomically, so a second harness process only repeats work). Returns the cache dir."""
    first = teacher_ckpt if isinstance(teacher_ckpt, str) else next(iter(teacher_ckpt.values()))
    out = teacher_cache_dir(first, cache)
    with _CACHE_LOCKS_GUARD:
        lock = _CACHE_LOCKS.setdefault(osp.abspath(out), threading.Lock())
    with lock:
        opts = dict(teacher_options(config, teacher_ckpt), **data_root_options(data_root))
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'cache_teacher.py'), config, '--out', out,
               '--topk', str(int(cache.get('topk', 4))), '--no-progress']
        if cache.get('taps'):
            cmd += ['--taps', *cache['taps']]
        _run(cmd + ['--cfg-options', *_options_args(opts)], log, threads)
    return out


LOCK_NAME = 'harness.lock'


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_run(run_dir: str) -> Optional[int]:
    """Claim ``run_dir`` for this process (``harness.lock`` holding the PID, created atomically),
    so that several harness processes can share one work dir. Returns None when claimed, else the
    PID of the live process holding it; a lock left by a dead process is taken over."""
    os.makedirs(run_dir, exist_ok=True)
    path = osp.join(run_dir, LOCK_NAME)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(path) as f:
                    pid = int(f.read().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                return pid
            try:  # stale: its process is gone
                os.remove(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, 'w') as f:
            f.write(str(os.getpid()))
        return None
    raise RunError(f'could not claim {path}')


def release_run(run_dir: str) -> None:
    try:
        os.remove(osp.join(run_dir, LOCK_NAME))
    except FileNotFoundError:
        pass


def val_metrics_from_log(train_dir: str, metric: str = 'mIoU') -> Dict[str, float]:
    """The last validation metrics the Runner logged in ``train_dir`` (its newest
    ``<timestamp>/vis_data/scalars.json``): the training run's own end-of-training validation,
    so the validation split needs no second process."""
    import glob

    logs = sorted(glob.glob(osp.join(train_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise RunError(f'no scalars.json under {train_dir}: did the run validate?')
    last = None
    with open(logs[-1]) as f:
        for line in f:
            rec = json.loads(line)
            if metric in rec:
                last = rec
    if last is None:
        raise RunError(f'{logs[-1]} holds no validation metric {metric!r}')
    return {k: float(v) for k, v in last.items() if isinstance(v, (int, float))
            and k not in ('step', 'time', 'data_time', 'iter')}


def data_root_options(data_root: Optional[str]) -> Dict:
    """``<loader>.dataset.data_root`` of the three dataloaders (empty for None)."""
    if not data_root:
        return {}
    return {f'{dl}.dataset.data_root': data_root
            for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader')}


def train_and_score(row, setting: Dict, seed: int, run_dir: str,
                    teacher_ckpt: Optional[Union[str, Dict[str, str]]],
                    iters: Optional[int], splits: Sequence[str], threads: int,
                    data_root: Optional[str] = None, extra: Optional[Dict] = None) -> Dict:
    """One run: train ``row`` with ``setting`` and ``seed`` into ``run_dir``, score it on
    ``splits``; writes and returns ``result.json``'s dict. A finished run of this directory
    scored on fewer splits (a ``--phase select`` run, val only, whose setting was chosen) is
    not trained again: only the missing splits are scored."""
    os.makedirs(run_dir, exist_ok=True)
    log = osp.join(run_dir, 'harness.log')
    earlier = _finished_run(run_dir, seed, iters)
    cfg = osp.join(ROOT, row.config)
    opts: Dict = {'randomness.seed': seed}
    if teacher_ckpt:
        opts.update(teacher_options(cfg, teacher_ckpt))
    if iters and row.tool != 'stages':
        opts.update(schedule_options(iters, cfg))
    opts.update(data_root_options(data_root))
    opts.update(row.options)
    opts.update(extra or {})
    opts.update(setting)
    cache_s = None
    if row.cache:
        if not teacher_ckpt:
            raise RunError(f'row {row.name}: cache= needs a teacher row')
        t0 = time.perf_counter()
        opts['model.teacher_cache'] = make_teacher_cache(cfg, teacher_ckpt, row.cache, log,
                                                         threads, data_root)
        cache_s = round(time.perf_counter() - t0, 1)
    train_dir = osp.join(run_dir, 'train')
    tool = 'train_stages.py' if row.tool == 'stages' else 'train.py'
    if row.tool == 'stages' and (teacher_ckpt or iters):
        cfg = stages_recipe(cfg, teacher_ckpt, iters, osp.join(run_dir, 'recipe.py'))
    cmd = [sys.executable, osp.join(ROOT, 'tools', tool), cfg, '--work-dir', train_dir,
           '--cfg-options', *_options_args(opts)]
    if earlier is None:
        train_s = _run(cmd, log, threads)
    else:
        train_s = earlier['train_time_s']
        with open(log, 'a') as f:
            f.write(f'# trained before (scored on {sorted(earlier["metrics"])}): scoring '
                    f'{[sp for sp in splits if sp not in earlier["metrics"]]} only\n')
    if row.tool == 'stages':
        from crossmodal.apis.train_stages import resolve_stage_config
        from mmengine.config import Config

        last = Config.fromfile(cfg).stages[-1]
        eval_cfg = resolve_stage_config(cfg, last['config'])
        ckpt_dir = osp.join(train_dir, last['name'])
    else:
        eval_cfg, ckpt_dir = cfg, train_dir
    if row.eval_config:
        eval_cfg = osp.join(ROOT, row.eval_config)
    metrics = {}
    eval_opts = dict(data_root_options(data_root), **row.eval_options)
    if teacher_ckpt and row.eval_config is None:
        # the scored config builds its teachers too (a recipe's last stage: MST-Distill stage 3)
        eval_opts.update(teacher_options(eval_cfg, teacher_ckpt))
    if 'model.teacher_cache' in opts and row.eval_config is None:
        eval_opts['model.teacher_cache'] = opts['model.teacher_cache']
    alpha = None
    for split in splits:
        if earlier is not None and split in earlier['metrics'] and not getattr(
            row, 'head_mix', False
        ):
            metrics[split] = earlier['metrics'][split]
            continue
        if getattr(row, 'head_mix', False):
            alphas = None if split == 'val' or alpha is None else [alpha]
            sweep = select_alpha(eval_cfg, ckpt_dir, run_dir, split, log, threads, eval_opts,
                                 data_root, alphas)
            alpha = sweep['best_alpha'] if split == 'val' else alpha
            metrics[split] = {row.metric: float(sweep['best_mIoU']), 'alpha': sweep['best_alpha'],
                              **{f'{row.metric}@{a}': float(v) for a, v in sweep['mIoU'].items()}}
        elif split == 'val' and not row.eval_options and not row.eval_config:
            metrics[split] = val_metrics_from_log(ckpt_dir, row.metric)
        else:
            metrics[split] = evaluate(eval_cfg, ckpt_dir, run_dir, split, log, threads, eval_opts)
    result = dict(row=row.name, setting=setting, seed=seed, iters=iters, train_time_s=round(
        train_s, 1), metrics=metrics, config=row.config, tool=row.tool,
        config_sha256=config_fingerprint(osp.join(ROOT, row.config)))
    if cache_s is not None:
        result['cache_time_s'] = cache_s  # making / re-checking the teacher cache
    tmp = osp.join(run_dir, 'result.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, osp.join(run_dir, 'result.json'))
    return result


def _finished_run(run_dir: str, seed: int, iters: Optional[int]) -> Optional[Dict]:
    """The ``result.json`` of a run already trained in ``run_dir`` (same seed and schedule), or
    None."""
    path = osp.join(run_dir, 'result.json')
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return None
    if old.get('seed') != seed or old.get('iters') != iters or not old.get('metrics'):
        return None
    return old


def setting_name(setting: Dict) -> str:
    if not setting:
        return 'default'
    return '_'.join(f'{k.split(".")[-1]}={_cfg_value(v)}' for k, v in sorted(setting.items()))


_CONFIG_CACHE: Dict[str, dict] = {}
_MISSING = object()


def _config_dict(config: str) -> dict:
    if config not in _CONFIG_CACHE:
        from mmengine.config import Config

        try:
            _CONFIG_CACHE[config] = Config.fromfile(config).to_dict()
        except Exception:  # an unreadable config: nothing is known to be its default
            _CONFIG_CACHE[config] = {}
    return _CONFIG_CACHE[config]


def _lookup(node, dotted: str):
    """The value at ``dotted`` (``model.lambda_con``, ``model.distill_losses.0.beta``) of a plain
    config dict, or ``_MISSING``."""
    for part in dotted.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _stage_dicts(config: str) -> List[dict]:
    """The stage configs of a ``tools/train_stages.py`` recipe (``stages=[dict(config=...)]``),
    as plain dicts; [] for a plain config."""
    cfg = _config_dict(config)
    base = osp.dirname(config)
    return [_config_dict(osp.join(base, st['config'])) for st in cfg.get('stages') or ()
            if isinstance(st, dict) and st.get('config')]


def _config_values(config: str, dotted: str) -> List:
    """The values ``dotted`` has in ``config``: one, or, for a recipe (the harness passes a
    setting to every stage), one per stage; ``_MISSING`` where a config lacks the key."""
    cfg = _config_dict(config)
    if 'stages' not in cfg:
        return [_lookup(cfg, dotted)]
    return [_lookup(st, dotted) for st in _stage_dicts(config)] or [_MISSING]


def _same_value(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def config_fingerprint(config: str) -> str:
    """sha256 of a config as mmengine merges it (its ``_base_`` files included) and, for a
    ``tools/train_stages.py`` recipe, of every stage config, with paths inside the checkout
    relative to it (a moved checkout keeps its fingerprints): a finished run is reused only while
    this is unchanged (a run made before the fingerprint was recorded is reused as it is)."""
    import hashlib

    parts = [_config_dict(config)] + _stage_dicts(config)
    # paths inside the checkout ({{ fileDirname }} expansions) count relative to it
    text = json.dumps(parts, sort_keys=True, default=str).replace(ROOT, '<checkout>')
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_setting(row, setting: Dict) -> Dict:
    """``setting`` without the keys ``row.config`` (every stage of a recipe) already sets to that
    value: a grid entry equal to the config's own value *is* the default run (one run directory,
    trained once, reused by ``--phase select`` and ``--phase final``). A key some config does not
    hold is kept."""
    return {
        k: v
        for k, v in setting.items()
        if not all(_same_value(cur, v) for cur in _config_values(row.config, k))
    }


# ----------------------------------------------------------------------------- the harness
def prepare_suite(suite, data_root: Optional[str] = None) -> None:
    """Run the suite's ``prepare`` commands (e.g. the semi-supervised labelled subset) with
    ``{data_root}`` filled in; a failing command stops the benchmark with its output."""
    root = data_root or getattr(suite, 'data_root', None)
    for cmd in getattr(suite, 'prepare', ()):
        argv = [sys.executable] + [a.replace('{data_root}', root) for a in cmd]
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'suite {suite.name}: {" ".join(argv[1:])} failed '
                               f'(exit {proc.returncode}):\n{proc.stderr.strip()}')


def run_suite(suite, work_dir: str, seeds: Sequence[int], rows: Optional[Sequence[str]] = None,
              phase: str = 'final', iters: Optional[int] = None, jobs: int = 1,
              threads: int = 1, select_seeds: Sequence[int] = (0,), progress: bool = True,
              data_root: Optional[str] = None, extra: Optional[Dict] = None,
              report_only: bool = False) -> Dict:
    """Run ``phase`` of ``suite`` for ``rows`` (default all) and return the results dict (also
    written to ``work_dir``). See the module docstring for the protocol."""
    wanted = list(rows) if rows else [r.name for r in suite.rows]
    by_name = {r.name: r for r in suite.rows}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise ValueError(f'unknown rows {unknown}; the suite has {sorted(by_name)}')
    # the twin and the teachers a row needs run too
    needed = list(wanted)
    for n in wanted:
        r = by_name[n]
        for dep in (*r.teacher_rows, suite.twin_of(r), r.control):
            if dep and dep not in needed:
                needed.insert(0, dep)
    os.makedirs(work_dir, exist_ok=True)
    if not report_only:
        prepare_suite(suite, data_root)
    sel_path = osp.join(work_dir, 'selection.json')
    selection = {}
    if osp.isfile(sel_path):
        with open(sel_path) as f:
            selection = json.load(f)

    def run_dir(row, setting, seed):
        name = setting_name(canonical_setting(row, setting))
        return osp.join(work_dir, 'runs', row.name, name, f'seed{seed}')

    def teacher_ckpt(row):
        """The teacher checkpoint dir (one teacher row) or ``{teacher key: dir}``."""
        if not row.teacher:
            return None
        if isinstance(row.teacher, str):
            return osp.join(run_dir(by_name[row.teacher], {}, 0), 'train')
        return {k: osp.join(run_dir(by_name[t], {}, 0), 'train') for k, t in row.teacher.items()}

    def jobs_for(names, phase_):
        out = []
        for n in names:
            r = by_name[n]
            if r.role == 'teacher':
                out.append((r, {}, 0, ('val', 'test') if phase_ == 'final' else ('val',)))
                continue
            if phase_ == 'select':
                for s in (r.grid or [{}]):
                    for seed in select_seeds:
                        out.append((r, s, seed, ('val',)))
            else:
                s = selection.get(r.name, {}).get('setting', r.default_setting())
                for seed in seeds:
                    out.append((r, s, seed, ('val', 'test')))
        return out

    results: List[Dict] = []
    failures: List[str] = []
    missing: List[str] = []
    teachers_of = {by_name[n].name for n in needed if by_name[n].role == 'teacher'}

    def do(job):
        r, s, seed, splits = job
        d = run_dir(r, s, seed)
        not_done = [t for t in r.teacher_rows
                    if not osp.isfile(osp.join(run_dir(by_name[t], {}, 0), 'result.json'))]
        if not_done and not report_only:
            failures.append(f'{r.name} {setting_name(s)} seed {seed}: skipped, its teacher '
                            f'{", ".join(not_done)} has no result')
            return None
        res_path = osp.join(d, 'result.json')
        if osp.isfile(res_path):
            with open(res_path) as f:
                old = json.load(f)
            recorded = old.get('config_sha256')
            stale = recorded is not None and recorded != config_fingerprint(
                osp.join(ROOT, r.config))
            if stale and report_only:
                missing.append(f'{r.name} {setting_name(s)} seed {seed} (config changed)')
                return None
            if stale:  # trained from another version of the config: train it again
                os.replace(res_path, res_path + '.stale')
                if progress:
                    print(f'[benchmark] {r.name} {setting_name(s)} seed {seed}: the config changed '
                          f'since this run; training it again', file=sys.stderr, flush=True)
            elif all(sp in old['metrics'] for sp in splits) and old.get('iters') == iters:
                return old
        if report_only:
            missing.append(f'{r.name} {setting_name(s)} seed {seed}')
            return None
        holder = claim_run(d)
        if holder is not None:  # another harness process on this work dir trains it now
            missing.append(f'{r.name} {setting_name(s)} seed {seed}')
            if progress:
                print(f'[benchmark] {r.name} {setting_name(s)} seed {seed}: running in process '
                      f'{holder}, skipped', file=sys.stderr, flush=True)
            return None
        try:
            return _train_job(r, s, seed, d, splits)
        finally:
            release_run(d)

    def do_as_requested(job):
        """:func:`do`, with the result carrying the setting the job asked for (a grid entry equal
        to the config's default shares the default run's directory)."""
        res = do(job)
        return None if res is None else dict(res, setting=dict(job[1]))

    def _train_job(r, s, seed, d, splits):
        t0 = time.perf_counter()
        if progress:
            print(f'[benchmark] {r.name} {setting_name(s)} seed {seed} ...', file=sys.stderr,
                  flush=True)
        try:
            res = train_and_score(r, s, seed, d, teacher_ckpt(r), iters, splits, threads,
                                  data_root, extra)
        except RunError as e:
            failures.append(f'{r.name} {setting_name(s)} seed {seed}: {e}')
            if progress:
                print(f'[benchmark] FAILED {e}', file=sys.stderr, flush=True)
            return None
        if progress:
            m = res['metrics'][splits[-1]].get(r.metric)
            print(f'[benchmark] {r.name} {setting_name(s)} seed {seed}: {splits[-1]} {r.metric} '
                  f'{m:.2f} ({time.perf_counter() - t0:.0f} s)', file=sys.stderr, flush=True)
        return res

    # one pool: teachers first, then the twins, then the methods; a method's job waits for its
    # teacher's (the queue order guarantees the teacher is already running)
    done = {n: threading.Event() for n in teachers_of}

    def do_after_teacher(job):
        r = job[0]
        if r.role != 'teacher':
            for t in r.teacher_rows:
                if t in done:
                    done[t].wait()
        try:
            return do_as_requested(job)
        finally:
            if r.role == 'teacher':
                done[r.name].set()

    order = {'teacher': 0, 'twin': 1, 'method': 2}
    all_jobs = jobs_for([n for n in needed if by_name[n].role == 'teacher'], 'final') + jobs_for(
        [n for n in needed if by_name[n].role != 'teacher'], phase)
    all_jobs.sort(key=lambda j: order[j[0].role])
    if jobs <= 1:
        results += [x for x in map(do_after_teacher, all_jobs) if x]
    else:
        with ThreadPoolExecutor(jobs) as ex:
            results += [x for x in ex.map(do_after_teacher, all_jobs) if x]
    others = [n for n in needed if by_name[n].role != 'teacher']

    if phase == 'select':
        for n in others:
            r = by_name[n]
            cands = [x for x in results if x['row'] == n]
            if not cands or not r.grid:
                continue
            best = max(cands, key=lambda x: r.sign * x['metrics']['val'][r.metric])
            selection[n] = dict(
                setting=best['setting'],
                budget=len(r.grid),
                val={setting_name(x['setting']): x['metrics']['val'][r.metric] for x in cands},
            )
        with open(sel_path, 'w') as f:
            json.dump(selection, f, indent=1)
    out = summarise(suite, results, selection, phase, iters, seeds)
    out['failures'] = failures
    out['missing'] = missing
    if phase == 'final':
        write_reports(out, work_dir)
    return out


def summarise(suite, results: List[Dict], selection: Dict, phase: str, iters, seeds) -> Dict:
    """Per-row statistics over seeds (split ``test`` in the final phase, ``val`` in select)."""
    split = 'test' if phase == 'final' else 'val'
    by_name = {r.name: r for r in suite.rows}
    summary = []
    for r in suite.rows:
        runs = [x for x in results if x['row'] == r.name and split in x['metrics']]
        if not runs:
            continue
        runs.sort(key=lambda x: x['seed'])
        vals = [x['metrics'][split][r.metric] for x in runs]
        row = dict(name=r.name, label=r.label or r.name, role=r.role, metric=r.metric,
                   higher_is_better=r.higher_is_better,
                   seeds=[x['seed'] for x in runs], values=vals, **mean_std(vals),
                   val_mean=mean_std([x['metrics']['val'][r.metric] for x in runs])['mean'],
                   train_time_s=mean_std([x['train_time_s'] for x in runs])['mean'],
                   budget=selection.get(r.name, {}).get('budget', 1 if r.role == 'method' else 0),
                   setting=runs[0]['setting'])
        if r.control:
            c_runs = {x['seed']: x['metrics'][split][by_name[r.control].metric] for x in results
                      if x['row'] == r.control and split in x['metrics']}
            common = [x for x in runs if x['seed'] in c_runs]
            if common:
                row['vs_control'] = dict(paired_ci([x['metrics'][split][r.metric] for x in common],
                                                   [c_runs[x['seed']] for x in common]),
                                         control=r.control)
        twin = suite.twin_of(r)
        if r.role == 'method' and twin:
            tm = by_name[twin].metric
            t_runs = {x['seed']: x['metrics'][split][tm] for x in results
                      if x['row'] == twin and split in x['metrics']}
            common = [x for x in runs if x['seed'] in t_runs]
            if common:
                a = [x['metrics'][split][r.metric] for x in common]
                b = [t_runs[x['seed']] for x in common]
                row['vs_twin'] = paired_ci(a, b)
                row['twin'] = twin
                tr = by_name[twin]
                teacher = r.primary_teacher or tr.primary_teacher or next(
                    (x.name for x in suite.rows if x.role == 'teacher'), None)
                t_val = [x['metrics'][split][by_name[teacher].metric] for x in results
                         if x['row'] == teacher and split in x['metrics']] if teacher else []
                if t_val:
                    gap = t_val[0] - sum(b) / len(b)
                    row['gap_recovered'] = row['vs_twin']['diff'] / gap if gap else float('nan')
        summary.append(row)
    # the targets of the testbed: twin / teacher ratio, twin seed std
    targets = {}
    for r in suite.rows:
        if r.role == 'twin':
            tw = next((s for s in summary if s['name'] == r.name), None)
            for t in suite.rows:
                if t.role != 'teacher' or t.metric != r.metric or not t.target:
                    continue
                te = next((s for s in summary if s['name'] == t.name), None)
                if tw and te:
                    targets[f'{r.name}/{t.name}'] = dict(
                        ratio=tw['mean'] / te['mean'] if r.sign > 0 else te['mean'] / tw['mean'],
                        twin_std=tw['std'], twin_mean=tw['mean'], teacher=te['mean'])
    return dict(suite=suite.name, phase=phase, split=split, iters=iters, seeds=list(seeds),
                runs=results, summary=summary, targets=targets)


def verdict(s: Dict, key: str = 'vs_twin') -> str:
    """``'better'`` / ``'worse'`` when the 95 % CI of a summary row's difference (``vs_twin`` or
    ``vs_control``) excludes zero in the good / bad direction (lower is better for errors such as
    MAE), ``'level'`` when it contains zero, ``''`` without a CI (one seed)."""
    ci = s.get(key)
    if not ci or any(isinstance(ci[k], float) and math.isnan(ci[k]) for k in ('lo', 'hi')):
        return ''
    sign = 1 if s.get('higher_is_better', True) else -1
    lo, hi = sorted((sign * ci['lo'], sign * ci['hi']))
    return 'better' if lo > 0 else 'worse' if hi < 0 else 'level'


def _fmt(x, nd=2):
    return '-' if x is None or (isinstance(x, float) and math.isnan(x)) else f'{x:.{nd}f}'


def markdown_table(out: Dict) -> str:
    """The results table (one line per row; methods with their paired CI against the twin)."""
    lines = [
        f'Suite `{out["suite"]}`, split `{out["split"]}`, seeds {out["seeds"]}'
        + (f', {out["iters"]} iterations (smoke)' if out.get('iters') else '') + '.',
        '',
        '| row | metric | mean +- std (n) | diff vs twin [95 % CI] | verdict | gap recovered '
        '| HP budget | train s |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for s in out['summary']:
        ci = s.get('vs_twin')
        ci_s = (f'{ci["diff"]:+.2f} [{_fmt(ci["lo"])}, {_fmt(ci["hi"])}]' if ci else '')
        gap = s.get('gap_recovered')
        lines.append(
            f'| {s["label"]} | {s["metric"]} | {_fmt(s["mean"])} +- {_fmt(s["std"])} ({s["n"]}) '
            f'| {ci_s} | {verdict(s)} | {_fmt(gap * 100, 0) + " %" if gap is not None else ""} '
            f'| {s["budget"] or ""} | {_fmt(s["train_time_s"], 0)} |'
        )
    for s in out['summary']:
        c = s.get('vs_control')
        if c:
            lines.append('')
            lines.append(f'{s["label"]} against its control `{c["control"]}`: {c["diff"]:+.2f} '
                         f'[{_fmt(c["lo"])}, {_fmt(c["hi"])}] (n = {c["n"]}; '
                         f'{verdict(s, "vs_control") or "one seed"}).')
    for k, t in out.get('targets', {}).items():
        lines.append('')
        lines.append(f'Target check `{k}`: twin/teacher = {t["ratio"]:.3f} (target 0.75-0.92), '
                     f'twin seed std = {_fmt(t["twin_std"])} (target <= 1.0).')
    return '\n'.join(lines) + '\n'


def plot(out: Dict, path: str) -> Optional[str]:
    """Bar plot of each method's difference to its twin with the 95 % CI; None without
    matplotlib."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [s for s in out['summary'] if s.get('vs_twin')]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(rows) + 1.2))
    ys = list(range(len(rows)))[::-1]
    d = [s['vs_twin']['diff'] for s in rows]
    lo = [s['vs_twin']['diff'] - s['vs_twin']['lo'] if not math.isnan(s['vs_twin']['lo'])
          else 0 for s in rows]
    colours = [{'better': 'tab:green', 'worse': 'tab:red'}.get(verdict(s), 'tab:gray')
               for s in rows]
    ax.barh(ys, d, xerr=lo, color=colours, capsize=3)
    ax.set_yticks(ys, [s['label'] for s in rows])
    ax.axvline(0, color='k', lw=0.8)
    metric = rows[0]['metric'].split('_')[0]
    ax.set_xlabel(f'{metric} - twin ({out["split"]} split), 95 % CI paired by seed')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_reports(out: Dict, work_dir: str) -> None:
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(to_strict_json(out), f, indent=1)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(markdown_table(out))
    out['plot'] = plot(out, osp.join(work_dir, 'results.png'))


# ----------------------------------------------------------------------------- CLI
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('--suite', default='v3', help='suite name (crossmodal/benchmarks/suites.py)')
    p.add_argument('--rows', help='comma-separated rows (default: all); twin and teachers follow')
    p.add_argument('--seeds', default='0,1,2', help='comma-separated seeds (final phase)')
    p.add_argument('--phase', choices=('select', 'final'), default='final')
    p.add_argument('--select-seeds', default='0', help='seeds of the selection phase')
    p.add_argument('--iters', type=int, help='override every schedule (smoke runs)')
    p.add_argument('--jobs', type=int, default=1, help='runs in parallel')
    p.add_argument('--threads', type=int, default=1, help='torch threads per run')
    p.add_argument('--work-dir', help='default work_dirs/benchmark_<suite>')
    p.add_argument('--data-root', help='dataset root of every row (default: the configs\')')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='extra --cfg-options of every training run (not of the scoring runs)')
    p.add_argument('--report', action='store_true',
                   help='train nothing: summarise the finished runs (and list the missing ones)')
    p.add_argument('--list', action='store_true', help='list the suite and exit')


def run(args) -> Dict:
    from crossmodal.benchmarks.suites import get_suite

    suite = get_suite(args.suite)
    if args.list:
        return dict(suite=suite.name, rows=[r.describe() for r in suite.rows])
    seeds = [int(s) for s in args.seeds.split(',')]
    rows = args.rows.split(',') if args.rows else None
    out = run_suite(
        suite, args.work_dir or osp.join('work_dirs', f'benchmark_{suite.name}'), seeds, rows,
        phase=args.phase, iters=args.iters, jobs=args.jobs, threads=args.threads,
        select_seeds=[int(s) for s in args.select_seeds.split(',')], data_root=args.data_root,
        extra=dict(kv.split('=', 1) for kv in args.cfg_options), report_only=args.report,
    )
    if out['phase'] == 'final':
        print(markdown_table(out), file=sys.stderr)
    return to_strict_json(dict(
        summary=out['summary'], targets=out['targets'], failures=out['failures'],
        missing=out['missing'],
        work_dir=args.work_dir or osp.join('work_dirs', f'benchmark_{suite.name}')))
