"""tools/benchmark.py methods: statistics (golden), the table, and a smoke run of the harness
(2 methods x 1 seed x 2 iterations on a tiny v3 dataset) through the real tools."""

import json
import math
import os.path as osp
import subprocess
import sys

import pytest

from crossmodal.benchmarks import methods as M
from crossmodal.benchmarks.suites import MAX_GRID, Row, Suite, get_suite

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_paired_ci_golden():
    # differences 1, 2, 3: mean 2, sd 1, half width t(0.975, 2) / sqrt(3) = 4.303 / 1.732
    ci = M.paired_ci([11.0, 12.0, 13.0], [10.0, 10.0, 10.0])
    assert ci['diff'] == pytest.approx(2.0)
    assert ci['hi'] - ci['diff'] == pytest.approx(4.303 / math.sqrt(3), rel=1e-4)
    assert ci['lo'] == pytest.approx(2.0 - 2.4843, abs=1e-3)
    one = M.paired_ci([1.0], [0.0])
    assert one['diff'] == 1.0 and math.isnan(one['lo'])


def test_mean_std_and_t_quantiles():
    s = M.mean_std([1.0, 2.0, 3.0, 4.0])
    assert s['mean'] == 2.5 and s['std'] == pytest.approx(math.sqrt(5 / 3))
    assert M.t975(1) == 12.706 and M.t975(4) == 2.776 and M.t975(100) == 1.96


def _fake(row, seed, test, val=None):
    return dict(row=row, setting={}, seed=seed, iters=None, train_time_s=1.0,
                metrics={'val': {'mIoU': val if val is not None else test}, 'test': {'mIoU': test}})


def test_summary_pairs_by_seed_and_reports_gap():
    suite = Suite('t', [Row('teacher', 'a.py', role='teacher'), Row('twin', 'b.py', role='twin'),
                        Row('kd', 'c.py', teacher='teacher')])
    runs = [_fake('teacher', 0, 80.0)] + [_fake('twin', s, v) for s, v in enumerate((60, 61, 62))]
    runs += [_fake('kd', s, v) for s, v in enumerate((63, 63, 66))]
    out = M.summarise(suite, runs, {}, 'final', None, [0, 1, 2])
    kd = next(s for s in out['summary'] if s['name'] == 'kd')
    assert kd['vs_twin']['diff'] == pytest.approx(3.0)  # differences 3, 2, 4
    assert kd['vs_twin']['lo'] == pytest.approx(3.0 - 4.303 / math.sqrt(3), rel=1e-4)
    assert kd['gap_recovered'] == pytest.approx(3.0 / (80 - 61))
    t = out['targets']['twin/teacher']
    assert t['ratio'] == pytest.approx(61 / 80) and t['twin_std'] == pytest.approx(1.0)
    table = M.markdown_table(out)
    assert '| kd | mIoU | 64.00 +- 1.73 (3) | +3.00 [' in table
    assert 'twin/teacher = 0.762' in table


def test_suite_rows_and_limits():
    suite = get_suite('v3')
    names = [r.name for r in suite.rows]
    assert names[:2] == ['teacher-rgbt', 'twin'] and 'cwd' in names
    for r in suite.rows:
        assert osp.isfile(osp.join(ROOT, r.config)), r.config
        assert len(r.grid) <= MAX_GRID
    with pytest.raises(ValueError, match='at most'):
        Row('x', 'a.py', grid=[{}] * (MAX_GRID + 1))
    with pytest.raises(ValueError, match='unknown suite'):
        get_suite('nope')


@pytest.mark.parametrize('name', ['v3', 'fskd', 'smoke', 'semi'])
def test_every_suite_names_existing_configs(name):
    for r in get_suite(name).rows:
        assert osp.isfile(osp.join(ROOT, r.config)), (name, r.config)


def test_semi_suite_prepares_its_labelled_subset_before_training(tmp_path, monkeypatch):
    """The semi-supervised suite writes train_l25 / train_u75 into the data root first (a no-op
    when present); a failing prepare command stops the run with its error."""
    from data_prep.synthetic import generate

    root = tmp_path / 'data'
    generate(str(root), 'rgbt', num=8, height=16, width=20, progress=False)
    suite = get_suite('semi')
    M.prepare_suite(suite, str(root))
    meta = json.load(open(root / 'meta.json'))
    assert 'train_u75' in meta['unlabelled_splits'] and 'train_l25' in meta['splits']
    from data_prep.label_subset import write_label_subset

    assert write_label_subset(str(root), 'train', 0.25, seed=0)['changed'] is False  # idempotent
    with pytest.raises(RuntimeError, match='label_subset.py.*failed'):
        M.prepare_suite(suite, str(tmp_path / 'missing'))
    by = {r.name: r for r in suite.rows}
    assert suite.twin_of(by['kd-l25u75']) == 'student-l25' and by['kd-l25u75'].control == 'kd-l25'


def test_verdict_reads_the_ci_in_the_metric_direction():
    ci = lambda lo, hi: dict(diff=(lo + hi) / 2, lo=lo, hi=hi, n=3)  # noqa: E731
    assert M.verdict({'vs_twin': ci(0.5, 2.0)}) == 'better'
    assert M.verdict({'vs_twin': ci(-2.0, -0.5)}) == 'worse'
    assert M.verdict({'vs_twin': ci(-1.0, 2.0)}) == 'level'
    # an error metric (MAE): a CI below zero is an improvement
    assert M.verdict({'vs_twin': ci(-0.3, -0.1), 'higher_is_better': False}) == 'better'
    assert M.verdict({'vs_twin': dict(diff=1.0, lo=math.nan, hi=math.nan, n=1)}) == ''
    assert M.verdict({}) == ''


def test_val_metrics_from_log_reads_the_rows_metric(tmp_path):
    d = tmp_path / 'train' / '20261201_000000' / 'vis_data'
    d.mkdir(parents=True)
    recs = [{'loss': 1.0, 'step': 10}, {'chm_MAE': 2.5, 'chm_RMSE': 3.0, 'step': 20},
            {'loss': 0.5, 'step': 30}, {'chm_MAE': 2.0, 'chm_RMSE': 2.4, 'step': 40}]
    (d / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in recs))
    got = M.val_metrics_from_log(str(tmp_path / 'train'), 'chm_MAE')
    assert got == {'chm_MAE': 2.0, 'chm_RMSE': 2.4}
    with pytest.raises(M.RunError, match="no validation metric 'mIoU'"):
        M.val_metrics_from_log(str(tmp_path / 'train'))


def test_fskd_suite_scores_mae_lower_is_better():
    suite = get_suite('fskd')
    assert [r.role for r in suite.rows] == ['teacher', 'twin', 'method']
    for r in suite.rows:
        assert osp.isfile(osp.join(ROOT, r.config)) and r.metric == 'chm_MAE'
        assert not r.higher_is_better and not r.grid  # no validation split: no selection
    assert suite.twin_of(suite.rows[2]) == 'fskd-twin'


_MST = osp.join(ROOT, 'configs/benchmark_v3/mst_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py')


def test_teacher_options_one_path_or_one_per_teacher():
    stage3 = osp.join(ROOT, 'configs/benchmark_v3/'
                      'mst-stage3_segformer_mit-t_600it_synthetic-v3-rgbd-128x160.py')
    assert M.teacher_options(stage3, 'a') == {'model.teachers.rgbd.checkpoint': 'a',
                                              'model.teachers.depth.checkpoint': 'a'}
    both = M.teacher_options(stage3, {'rgbd': 'a', 'depth': 'b'})
    assert both == {'model.teachers.rgbd.checkpoint': 'a', 'model.teachers.depth.checkpoint': 'b'}
    with pytest.raises(ValueError, match=r"no checkpoint: \['depth'\]"):
        M.teacher_options(stage3, {'rgbd': 'a'})
    with pytest.raises(ValueError, match=r"unknown: \['rgbt'\]"):
        M.teacher_options(stage3, {'rgbd': 'a', 'depth': 'b', 'rgbt': 'c'})
    gkd2 = osp.join(ROOT, 'configs/benchmark_v3/'
                    'gkd-stage2_segformer_mit-t_400it_synthetic-v3-rgbt-128x160.py')
    assert M.teacher_options(gkd2, {'rgbt': 'a'}) == {}  # a stage without teachers


def test_stages_recipe_gives_each_stage_its_teachers_and_schedule(tmp_path):
    """MST-Distill's recipe: every stage gets both teachers; the smoke schedule fits each stage's
    schedulers (stage 3 has one PolyLR, stages 1-2 a warm-up and a main scheduler)."""
    from mmengine.config import Config

    out = M.stages_recipe(_MST, {'rgbd': 't/rgbd', 'depth': 't/depth'}, 4,
                          str(tmp_path / 'recipe.py'))
    stages = Config.fromfile(out).stages
    assert [s['name'] for s in stages] == ['stage1', 'stage2', 'stage3']
    for st in stages:
        assert osp.isabs(st['config']) and osp.isfile(st['config'])
        o = st['cfg_options']
        assert o['model.teachers.depth.checkpoint'] == 't/depth'
        assert o['model.teachers.rgbd.checkpoint'] == 't/rgbd'
        assert o['train_cfg.max_iters'] == 4
    assert stages[1]['load_mode'] == 'all'
    s1, s3 = stages[0]['cfg_options'], stages[2]['cfg_options']
    assert s1['param_scheduler.1.end'] == 4 and s1['param_scheduler.0.end'] == 1
    assert s3['param_scheduler.0.end'] == 4 and not any(k.startswith('param_scheduler.1')
                                                        for k in s3)


def test_multi_teacher_row_waits_for_every_teacher(tmp_path, monkeypatch):
    """A row with ``teacher={key: row}`` runs after both teachers, gets ``{key: dir}`` and its gap
    is measured against the first teacher; a helper teacher (target=False) has no target check."""
    seen = {}

    def fake(row, setting, seed, run_dir, teacher_ckpt, iters, splits, threads, data_root=None,
             extra=None):
        seen[row.name] = teacher_ckpt
        score = {'t1': 80.0, 't2': 70.0, 'twin': 60.0 + seed}.get(row.name, 62.0 + seed)
        res = dict(row=row.name, setting=setting, seed=seed, iters=iters, train_time_s=0.0,
                   metrics={s: {'mIoU': score} for s in splits})
        import os
        os.makedirs(run_dir, exist_ok=True)
        with open(osp.join(run_dir, 'result.json'), 'w') as f:
            json.dump(res, f)
        return res

    monkeypatch.setattr(M, 'train_and_score', fake)
    suite = Suite('t', [Row('t1', 'a.py', role='teacher'),
                        Row('t2', 'b.py', role='teacher', target=False),
                        Row('twin', 'c.py', role='twin'),
                        Row('mst', 'd.py', teacher={'rgbd': 't1', 'depth': 't2'})])
    out = M.run_suite(suite, str(tmp_path), seeds=[0, 1], rows=['mst'], jobs=2, progress=False)
    assert out['failures'] == []
    assert set(seen['mst']) == {'rgbd', 'depth'}
    assert seen['mst']['depth'].endswith(osp.join('runs', 't2', 'default', 'seed0', 'train'))
    mst = next(s for s in out['summary'] if s['name'] == 'mst')
    assert mst['gap_recovered'] == pytest.approx(2.0 / (80.0 - 60.5))
    assert list(out['targets']) == ['twin/t1']


def test_cache_rows_make_the_teacher_cache_once_next_to_the_teacher(tmp_path, monkeypatch):
    """kd-cached / cwd-cached: tools/cache_teacher.py on the row's config with the teacher's
    checkpoint, k and taps, into <teacher run>/cache-k4[-stage4]; paired with the online row."""
    suite = get_suite('v3')
    rows = {r.name: r for r in suite.rows}
    assert rows['kd-cached'].control == 'kd' and rows['cwd-cached'].control == 'cwd'
    cmds = []
    monkeypatch.setattr(M, '_run', lambda cmd, log, threads: cmds.append(cmd) or 0.0)
    ckpt = str(tmp_path / 'runs' / 'teacher-rgbt' / 'default' / 'seed0' / 'train')
    r = rows['cwd-cached']
    out = M.make_teacher_cache(osp.join(ROOT, r.config), ckpt, r.cache, 'log', 1, '/data/v3')
    assert out == osp.join(osp.dirname(ckpt), 'cache-k4-stage4')
    (cmd,) = cmds
    assert cmd[1].endswith('cache_teacher.py') and cmd[cmd.index('--out') + 1] == out
    assert cmd[cmd.index('--topk') + 1] == '4' and cmd[cmd.index('--taps') + 1] == 'stage4'
    opts = cmd[cmd.index('--cfg-options') + 1:]
    assert f'model.teachers.rgbt.checkpoint={ckpt}' in opts
    assert 'train_dataloader.dataset.data_root=/data/v3' in opts
    assert M.teacher_cache_dir(ckpt, rows['kd-cached'].cache).endswith('cache-k4')


def test_claim_run_lets_two_harness_processes_share_a_work_dir(tmp_path):
    import os

    d = str(tmp_path / 'run')
    assert M.claim_run(d) is None  # claimed by this process
    lock = osp.join(d, M.LOCK_NAME)
    assert open(lock).read() == str(os.getpid())
    M.release_run(d)
    assert not osp.exists(lock)
    parent = os.getppid()  # a live process holding the run: skipped
    with open(lock, 'w') as f:
        f.write(str(parent))
    assert M.claim_run(d) == parent
    done = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True)
    with open(lock, 'w') as f:  # a lock left by a dead process is taken over
        f.write(done.stdout.strip())
    assert M.claim_run(d) is None and open(lock).read() == str(os.getpid())


def _benchmark_cmd(name, *argv):
    return [sys.executable, osp.join(ROOT, 'tools', 'benchmark.py'), name, *argv]


@pytest.fixture(scope='module')
def tiny_v3(tmp_path_factory):
    from data_prep.synthetic_v3 import generate

    root = str(tmp_path_factory.mktemp('v3') / 'synthetic_v3')
    generate(root, splits={'train': 8, 'val': 4, 'test': 4}, progress=False)
    return root


def test_harness_smoke_runs_tools_and_resumes(tiny_v3, tmp_path, monkeypatch):
    """teacher + twin + KD + KD from the teacher cache, 1 seed, 2 iterations: JSON, markdown, plot;
    the cached row runs tools/cache_teacher.py -> tools/train.py (no teacher built) ->
    tools/test.py end to end; a second call reuses every finished run (resume)."""
    work = str(tmp_path / 'bm')
    cmd = _benchmark_cmd('methods', '--suite', 'smoke', '--seeds', '0', '--iters', '2', '--jobs',
                         '2', '--data-root', tiny_v3, '--work-dir', work)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout)
    assert res['failures'] == []
    names = {s['name'] for s in res['summary']}
    assert names == {'teacher-rgbt', 'twin', 'kd', 'kd-cached'}
    kd = next(s for s in res['summary'] if s['name'] == 'kd')
    assert 0.0 <= kd['mean'] <= 100.0 and kd['vs_twin']['n'] == 1
    cached = next(s for s in res['summary'] if s['name'] == 'kd-cached')
    assert cached['vs_control']['control'] == 'kd' and cached['vs_control']['n'] == 1
    # the cache: made once next to the teacher's run, complete, k = 4 of the 8 classes
    cache = osp.join(work, 'runs', 'teacher-rgbt', 'default', 'seed0', 'cache-k4')
    manifest = json.load(open(osp.join(cache, 'manifest.json')))
    assert manifest['complete'] and manifest['topk'] == 4 and len(manifest['samples']) == 8
    # trained from it: the distiller's checkpoint holds no teacher, the log has the KD term
    from crossmodal.utils import checkpoints

    cdir = osp.join(work, 'runs', 'kd-cached', 'default', 'seed0')
    state = checkpoints.state_dict_of(checkpoints.load(osp.join(cdir, 'train', 'iter_2.pth')))
    assert state and not [k for k in state if k.startswith('teachers.')]
    assert 'distill.loss_kd' in open(osp.join(cdir, 'harness.log')).read()
    scored = json.load(open(osp.join(cdir, 'test_results.json')))
    assert scored['model'] == 'DistillSegmentor' and 0.0 <= scored['metrics']['mIoU'] <= 100.0
    # ... and exported as a plain student by tools/export.py from the run's dumped config
    import glob

    (dumped,) = glob.glob(osp.join(cdir, 'train', '*.py'))
    student_pth = str(tmp_path / 'student.pth')
    exp = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'export.py'), dumped,
         osp.join(cdir, 'train', 'iter_2.pth'), '--format', 'pth', '--out', student_pth],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert exp.returncode == 0, exp.stderr[-3000:]
    exported = checkpoints.state_dict_of(checkpoints.load(student_pth))
    assert exported and all(k.startswith(('backbone.', 'decode_head.')) for k in exported)
    assert all((exported[k] == state[f'student.{k}']).all() for k in exported)
    for f in ('results.json', 'results.md', 'results.png'):
        assert osp.isfile(osp.join(work, f)), f
    run = json.load(open(osp.join(work, 'runs', 'kd', 'default', 'seed0', 'result.json')))
    assert set(run['metrics']) == {'val', 'test'}
    # resumed in-process: every run has its result.json, so no tool process is started
    def no_process(*a, **k):
        raise AssertionError('a finished run was started again')

    monkeypatch.setattr(M, '_run', no_process)
    again = M.run_suite(get_suite('smoke'), work, [0], iters=2, data_root=tiny_v3,
                        progress=False)
    assert again['failures'] == []
    assert json.loads(json.dumps(M.to_strict_json(again['summary']))) == res['summary']


def _fake_scorer(calls, weight_key, default_weight):
    """A stand-in for ``train_and_score`` (no training): records each call as (row, setting,
    seed, splits, run dir name), scores the twin 60 + seed and a method 61 + seed - (w - 2)^2,
    and writes the run's result.json as the real one does."""

    def fake(row, setting, seed, run_dir, teacher_ckpt, iters, splits, threads, data_root=None,
             extra=None):
        import os

        calls.append((row.name, dict(setting), seed, tuple(splits),
                      osp.basename(osp.dirname(run_dir))))
        w = setting.get(weight_key, default_weight)
        score = {'teacher': 90.0, 'twin': 60.0 + seed}.get(row.name, 61.0 + seed - (w - 2) ** 2)
        res = dict(row=row.name, setting=setting, seed=seed, iters=iters, train_time_s=0.0,
                   metrics={s: {'mIoU': score} for s in splits})
        os.makedirs(run_dir, exist_ok=True)
        with open(osp.join(run_dir, 'result.json'), 'w') as f:
            json.dump(res, f)
        return res

    return fake


def test_select_phase_picks_the_best_val_setting_then_final_uses_it(tmp_path, monkeypatch):
    """--phase select tries each grid setting on val only; --phase final trains the chosen one for
    every seed and reads test (train_and_score replaced by a fake scorer: no training)."""
    calls = []
    monkeypatch.setattr(M, 'train_and_score', _fake_scorer(calls, 'w', 0))
    suite = Suite('t', [Row('teacher', 'a.py', role='teacher'), Row('twin', 'b.py', role='twin'),
                        Row('kd', 'c.py', teacher='teacher', grid=[{'w': 1}, {'w': 2}, {'w': 4}])])
    work = str(tmp_path)
    M.run_suite(suite, work, seeds=[0, 1, 2], phase='select', progress=False)
    sel = json.load(open(osp.join(work, 'selection.json')))
    assert sel['kd']['setting'] == {'w': 2} and sel['kd']['budget'] == 3
    assert all(c[3] == ('val',) for c in calls if c[0] == 'kd')  # selection never reads test
    calls.clear()
    out = M.run_suite(suite, work, seeds=[0, 1, 2], phase='final', progress=False)
    kd_calls = [c for c in calls if c[0] == 'kd']
    assert [c[1] for c in kd_calls] == [{'w': 2}] * 3 and {c[2] for c in kd_calls} == {0, 1, 2}
    kd = next(s for s in out['summary'] if s['name'] == 'kd')
    assert kd['budget'] == 3 and kd['vs_twin']['diff'] == pytest.approx(1.0)
    assert kd['vs_twin']['lo'] == pytest.approx(1.0) == kd['vs_twin']['hi']  # zero spread
    assert osp.isfile(osp.join(work, 'results.md'))
    calls.clear()
    M.run_suite(suite, work, seeds=[0, 1, 2], phase='final', progress=False)
    assert calls == []  # resumed: every run has its result.json
    rep = M.run_suite(suite, work, seeds=[0, 1, 2, 3], phase='final', progress=False,
                      report_only=True)
    assert calls == [] and rep['missing'] == ['twin default seed 3', 'kd w=2 seed 3']
    assert next(s for s in rep['summary'] if s['name'] == 'kd')['n'] == 3


def test_a_grid_entry_equal_to_the_config_value_is_the_default_run(tmp_path, monkeypatch):
    """The config sets model.w = 2, so the grid entry {'model.w': 2} is the default run: the
    final runs made before any selection serve the select phase (no retraining), the
    selection still names the grid entry, and the final phase at it reuses every run."""
    cfg = tmp_path / 'kd.py'
    cfg.write_text("model = dict(w=2.0, losses=[dict(beta=8)])\n")
    row = Row('kd', str(cfg), teacher='teacher',
              grid=[{'model.w': 1}, {'model.w': 2}, {'model.w': 4}])
    assert M.canonical_setting(row, {'model.w': 2}) == {}
    assert M.canonical_setting(row, {'model.w': 4, 'model.losses.0.beta': 8}) == {'model.w': 4}
    assert M.canonical_setting(row, {'model.nope': 1}) == {'model.nope': 1}
    calls = []
    monkeypatch.setattr(M, 'train_and_score', _fake_scorer(calls, 'model.w', 2))
    suite = Suite('t', [Row('teacher', 'a.py', role='teacher'), Row('twin', 'b.py', role='twin'),
                        row])
    work = str(tmp_path / 'w')
    M.run_suite(suite, work, seeds=[0, 1], phase='final', progress=False)  # defaults first
    assert [(c[1], c[2], c[4]) for c in calls if c[0] == 'kd'] == [({}, 0, 'default'),
                                                                    ({}, 1, 'default')]
    calls.clear()
    M.run_suite(suite, work, seeds=[0], phase='select', progress=False)
    assert sorted(c[4] for c in calls if c[0] == 'kd') == ['w=1', 'w=4']  # w=2: default, reused
    sel = json.load(open(osp.join(work, 'selection.json')))
    assert sel['kd']['setting'] == {'model.w': 2} and set(sel['kd']['val']) == {'w=1', 'w=2', 'w=4'}
    calls.clear()
    out = M.run_suite(suite, work, seeds=[0, 1], phase='final', progress=False)
    assert calls == []
    kd = next(s for s in out['summary'] if s['name'] == 'kd')
    assert kd['n'] == 2 and kd['budget'] == 3


def test_canonical_setting_reads_every_stage_of_a_recipe():
    """MST-Distill's recipe: w_kl = 1 in all three stage configs, so {'model.w_kl': 1.0} is the
    default run; a key no stage has at that value is kept."""
    mst = next(r for r in get_suite('v3').rows if r.name == 'mst')
    assert M.canonical_setting(mst, {'model.w_kl': 1.0}) == {}
    assert M.canonical_setting(mst, {'model.w_kl': 2.0}) == {'model.w_kl': 2.0}
    off = {'model.warmup_train_teachers': False}
    assert M.canonical_setting(mst, off) == off and off in mst.grid


def test_a_selected_run_is_scored_on_test_without_training_again(tmp_path, monkeypatch):
    """--phase select trained the run and read val; --phase final at that setting only scores
    test from its checkpoint (no tool process trains it again)."""
    run_dir = str(tmp_path / 'kd' / 'w=1' / 'seed0')
    import os

    os.makedirs(run_dir)
    with open(osp.join(run_dir, 'result.json'), 'w') as f:
        json.dump(dict(row='kd', setting={'w': 1}, seed=0, iters=None, train_time_s=12.5,
                       metrics={'val': {'mIoU': 50.0}}), f)

    def no_training(*a, **k):
        raise AssertionError('the run was trained again')

    scored = []

    def fake_evaluate(cfg, ckpt_dir, rd, split, log, threads, opts):
        scored.append(split)
        return {'mIoU': 48.0}

    monkeypatch.setattr(M, '_run', no_training)
    monkeypatch.setattr(M, 'evaluate', fake_evaluate)
    row = Row('kd', 'configs/students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py')
    res = M.train_and_score(row, {'w': 1}, 0, run_dir, None, None, ('val', 'test'), 1)
    assert scored == ['test'] and res['train_time_s'] == 12.5
    assert res['metrics'] == {'val': {'mIoU': 50.0}, 'test': {'mIoU': 48.0}}
    assert json.load(open(osp.join(run_dir, 'result.json')))['metrics'] == res['metrics']
    # another seed (or schedule) in that directory is no earlier run of this one
    with pytest.raises(AssertionError, match='trained again'):
        M.train_and_score(row, {'w': 1}, 1, run_dir, None, None, ('val', 'test'), 1)


def test_a_run_of_an_edited_config_is_not_reused(tmp_path, monkeypatch):
    """result.json records the config's fingerprint: after the config changes, the report lists
    the run as missing and the final phase trains it again (a run without a fingerprint, made
    before it was recorded, is reused)."""
    cfg = tmp_path / 'kd.py'
    cfg.write_text('model = dict(w=1.0)\n')
    suite = Suite('t', [Row('twin', str(cfg), role='twin')])
    work = str(tmp_path / 'w')
    run_dir = osp.join(work, 'runs', 'twin', 'default', 'seed0')
    import os

    os.makedirs(run_dir)

    def write(sha):
        res = dict(row='twin', setting={}, seed=0, iters=None, train_time_s=1.0,
                   metrics={'val': {'mIoU': 50.0}, 'test': {'mIoU': 50.0}})
        if sha is not None:
            res['config_sha256'] = sha
        with open(osp.join(run_dir, 'result.json'), 'w') as f:
            json.dump(res, f)

    calls = []
    monkeypatch.setattr(M, 'train_and_score', _fake_scorer(calls, 'w', 0))
    write(None)  # no fingerprint: reused
    M.run_suite(suite, work, seeds=[0], phase='final', progress=False)
    assert calls == []
    write(M.config_fingerprint(str(cfg)))  # the same config: reused
    M.run_suite(suite, work, seeds=[0], phase='final', progress=False)
    assert calls == []
    write('0' * 64)  # made from another version of the config
    rep = M.run_suite(suite, work, seeds=[0], phase='final', progress=False, report_only=True)
    assert rep['missing'] == ['twin default seed 0 (config changed)'] and calls == []
    M.run_suite(suite, work, seeds=[0], phase='final', progress=False)
    assert [c[:3] for c in calls] == [('twin', {}, 0)]
    assert osp.isfile(osp.join(run_dir, 'result.json.stale'))
