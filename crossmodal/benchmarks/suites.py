"""The benchmark suites of ``tools/benchmark.py methods`` (:mod:`crossmodal.benchmarks.methods`).

A :class:`Row` is one config trained and scored as a user would; a :class:`Suite` lists the rows:
``role='teacher'`` rows train once (seed 0) and are the teachers of the rows naming them,
``role='twin'`` is the no-distillation student every method row is paired with, ``role='method'``
rows are the distillation methods. ``grid`` holds at most 4 candidate settings (``--cfg-options``
dicts) of the row's main weight, tried on the validation split by ``--phase select``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

MAX_GRID = 4


@dataclass
class Row:
    """One benchmark row.

    Args:
        name: row id (work-dir name, ``--rows``).
        config: repo-relative config path (a recipe for ``tool='stages'``).
        role: ``'teacher'``, ``'twin'`` or ``'method'``.
        tool: ``'train'`` (``tools/train.py``) or ``'stages'`` (``tools/train_stages.py``).
        teacher: name of the teacher row whose checkpoint every teacher of the config gets, or a
            dict ``{config teacher key: teacher row}`` for configs with several teachers
            (MST-Distill: ``{'rgbd': 'teacher-rgbd', 'depth': 'depth-only'}``).
        twin: twin row to pair with (default: the suite's twin of the same metric).
        metric: key of ``tools/test.py``'s metrics (``'mIoU'``; ``'MAE'`` for regression).
        higher_is_better: False for errors (MAE).
        label: table label (default ``name``).
        options: ``--cfg-options`` always passed.
        grid: candidate settings for ``--phase select`` (at most :data:`MAX_GRID`).
        eval_config: config ``tools/test.py`` scores with (default: the trained one, or a recipe's
            last stage).
        eval_options: ``--cfg-options`` of the scoring run (e.g. RTFDNet's ``model.branch=rgb``).
        control: a second row to pair with besides the twin (a method's ablation, e.g. GKD
            against its stage 2 alone on the pretrained encoder).
        target: for a teacher row, whether the testbed's twin/teacher ratio target is checked
            against it (False for a single-modality helper such as MST-Distill's depth model).
        cache: offline distillation (docs/teacher_cache.md): ``dict(topk=4, taps=('stage4',))``
            makes the harness run ``tools/cache_teacher.py`` once per teacher checkpoint (next to
            the teacher's run, shared by seeds and rows) and train with
            ``model.teacher_cache=<that dir>``.
        head_mix: a dual-head (DHO) student: its mix weight alpha is chosen per seed on the
            validation split (``tools/select_alpha.py``, alphas 0..1 by 0.25) and the test split
            is scored once, at that alpha, by the same tool.
    """

    name: str
    config: str
    role: str = 'method'
    tool: str = 'train'
    teacher: Optional[Union[str, Dict[str, str]]] = None
    twin: Optional[str] = None
    metric: str = 'mIoU'
    higher_is_better: bool = True
    label: Optional[str] = None
    options: Dict = field(default_factory=dict)
    grid: List[Dict] = field(default_factory=list)
    eval_config: Optional[str] = None
    eval_options: Dict = field(default_factory=dict)
    control: Optional[str] = None
    target: bool = True
    cache: Optional[Dict] = None
    head_mix: bool = False

    def __post_init__(self):
        if self.role not in ('teacher', 'twin', 'method'):
            raise ValueError(f'row {self.name}: role must be teacher, twin or method')
        if self.tool not in ('train', 'stages'):
            raise ValueError(f'row {self.name}: tool must be train or stages')
        if len(self.grid) > MAX_GRID:
            raise ValueError(f'row {self.name}: at most {MAX_GRID} candidate settings')

    @property
    def teacher_rows(self) -> List[str]:
        """The teacher rows this row needs (in declaration order)."""
        if not self.teacher:
            return []
        if isinstance(self.teacher, str):
            return [self.teacher]
        return list(dict.fromkeys(self.teacher.values()))

    @property
    def primary_teacher(self) -> Optional[str]:
        """The teacher the gap recovered is measured against (the first one)."""
        rows = self.teacher_rows
        return rows[0] if rows else None

    @property
    def sign(self) -> int:
        return 1 if self.higher_is_better else -1

    def default_setting(self) -> Dict:
        return {}

    def describe(self) -> Dict:
        return dict(name=self.name, config=self.config, role=self.role, tool=self.tool,
                    teacher=self.teacher, metric=self.metric, grid=self.grid)


@dataclass
class Suite:
    """Rows, and ``prepare``: commands (argument lists, ``{data_root}`` filled in; default root
    ``data_root``) the harness runs once before training, e.g. the labelled subset of the
    semi-supervised suite (they must be no-ops when already done)."""

    name: str
    rows: List[Row]
    prepare: List[List[str]] = field(default_factory=list)
    data_root: str = 'data/synthetic_v3'

    def twin_of(self, row: Row) -> Optional[str]:
        if row.role != 'method':
            return None
        if row.twin:
            return row.twin
        # the twin scored the same way (mIoU against mIoU or a head's mIoU_*, MAE against MAE)
        twins = [r.name for r in self.rows
                 if r.role == 'twin' and r.higher_is_better == row.higher_is_better]
        return twins[0] if twins else None


_V3 = 'configs/benchmark_v3/{}_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py'


def _loss_row(name: str, label: str, weight_key: str, grid_weights=()) -> Row:
    return Row(
        name=name, label=label, config=_V3.format(name), teacher='teacher-rgbt',
        grid=[{weight_key: w} for w in grid_weights],
    )


def v3() -> Suite:
    """Embedded benchmark v3 (data_prep/synthetic_v3.py): RGB-T teacher, RGB twin, every loss."""
    lw = 'model.distill_losses.0.loss_weight'
    rows = [
        Row('teacher-rgbt',
            'configs/teachers/rgbx-sff-segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py',
            role='teacher', label='teacher RGB-T (SFF)'),
        Row('twin', 'configs/students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py',
            role='twin', label='RGB twin (no KD)'),
        _loss_row('kd', 'KD (tau 2)', lw, (0.5, 1.0, 2.0, 4.0)),
        _loss_row('kd-cw', 'KD (tau 2), class-weighted', lw, (0.5, 1.0, 2.0, 4.0)),
        _loss_row('cwd', 'CWD logits + stage 4', lw, (1.0, 3.0, 5.0)),
        # DKD's main weight is beta (NCKD): 8 is the CIFAR reference, 0.5 ImageNet's
        _loss_row('dkd', 'DKD (alpha 1, tau 4, beta on val)', 'model.distill_losses.0.beta',
                  (0.5, 1.0, 2.0, 8.0)),
        _loss_row('bild', 'BiLD (k 4)', lw, (0.5, 1.0, 2.0)),
        _loss_row('dbild', 'DBiLD (kneedle k)', lw, (0.5, 1.0, 2.0)),
        _loss_row('pld', 'PLD', lw, (0.5, 1.0, 2.0)),
        _loss_row('taid', 'TAID', lw, (0.5, 1.0, 2.0)),
        _loss_row('fitnet', 'FitNet stage 4', lw, (0.5, 1.0, 2.0)),
        _loss_row('at', 'AT stages 2 + 4', lw, (1.0, 10.0, 100.0)),
        _loss_row('affinity-kd', 'affinity KD stage 2', lw, (0.5, 1.0, 2.0)),
        _loss_row('attn-kd', 'attention-map KD stage 3', lw, (0.5, 1.0, 2.0)),
        # offline distillation from the teacher's top-k cache, paired with the online row
        Row('kd-cached', _V3.format('kd-cached'), teacher='teacher-rgbt', cache=dict(topk=4),
            control='kd', label='KD (tau 2) from the teacher cache (k 4)'),
        Row('cwd-cached', _V3.format('cwd-cached'), teacher='teacher-rgbt',
            cache=dict(topk=4, taps=('stage4',)), control='cwd',
            label='CWD logits + stage 4 from the teacher cache (k 4)'),
        Row('gkd-head-only',
            'configs/benchmark_v3/gkd-stage2_segformer_mit-t_400it_synthetic-v3-rgbt-128x160.py',
            label='GKD stage 2 alone (frozen pretrained encoder)'),
        Row('gkd', 'configs/benchmark_v3/gkd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py',
            tool='stages', teacher='teacher-rgbt', label='GKD (QSD stage 1 + head stage 2)',
            control='gkd-head-only'),
        Row('rtfdnet-rgb', 'configs/benchmark_v3/rtfdnet_mit-t_800it_synthetic-v3-rgbt-128x160.py',
            metric='mIoU_rgb', label='RTFDNet RGB head',
            grid=[{'model.w_mce': w} for w in (0.25, 0.5, 1.0)]),
        # RGB-D: the same frames and RGB twin (v3 renders RGB, thermal and depth from one geometry)
        Row('teacher-rgbd',
            'configs/teachers/rgbx-sff-segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py',
            role='teacher', label='teacher RGB-D (SFF)'),
        Row('depth-only', 'configs/students/segformer_mit-t_800it_synthetic-v3-depth-128x160.py',
            role='teacher', target=False, label='depth-only SegFormer (MST teacher A)'),
        Row('crodino-rgb',
            'configs/benchmark_v3/crodino_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py',
            label='CroDiNo-KD RGB model (RGB-D, no teacher)',
            grid=[{'model.lambda_con': w} for w in (0.1, 0.3, 1.0)]),
        Row('mst', 'configs/benchmark_v3/mst_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py',
            tool='stages', teacher={'rgbd': 'teacher-rgbd', 'depth': 'depth-only'},
            label='MST-Distill student (RGB-D)',
            # its routed-KD weight, and the stage-1 knob an earlier diagnosis pointed to
            # (teachers kept fixed in the warm-up; the worst on val, docs/benchmarks.md)
            grid=[{'model.w_kl': w} for w in (0.5, 1.0, 2.0)]
            + [{'model.warmup_train_teachers': False}]),
    ]
    return Suite('v3', rows)


def fskd() -> Suite:
    """FSKD on the synthetic forest (``python data_prep/synthetic_forest.py --out
    data/synthetic_forest --size 1024``: 192 train / 64 test tiles of 64x64): canopy-height MAE
    (metres, lower is better) of the RGBI-only student distilled from the RGBI+LiDAR teacher,
    against the RGBI student trained on the LiDAR targets alone. The forest dataset has no
    validation split (its configs validate on test), so this suite has no selection grid: the
    default setting only, HP budget 1."""
    mae = dict(metric='chm_MAE', higher_is_better=False)
    cfg = 'configs/distill/fskd/fskd-{}_mit-t_300it_synthetic-forest-64x64.py'
    return Suite('fskd', [
        Row('fskd-teacher', cfg.format('teacher'), role='teacher', label='teacher RGBI+LiDAR',
            **mae),
        Row('fskd-twin', cfg.format('student-gt'), role='twin', label='RGBI student (targets only)',
            **mae),
        Row('fskd', cfg.format('distill'), teacher='fskd-teacher',
            label='FSKD (L1 to targets + L1 to teacher)', **mae),
    ])


def smoke() -> Suite:
    """The v3 rows the test suite runs for a few iterations on a tiny v3 dataset: teacher, twin,
    online KD and KD from the teacher cache (cache_teacher -> train -> test, end to end)."""
    s = v3()
    keep = {'teacher-rgbt', 'twin', 'kd', 'kd-cached'}
    return Suite('smoke', [r for r in s.rows if r.name in keep])


def semi() -> Suite:
    """Semi-supervised distillation on benchmark v3 (RGB-T): labels for 25 % of the train stems
    (``python data_prep/label_subset.py data/synthetic_v3 --fraction 0.25``: train_l25 /
    train_u75), the teacher trained on them; students on the labelled 25 % alone, distilled on it,
    distilled on it + the unlabelled 75 %; the fully labelled RGB student (the v3 twin) is the
    ceiling. Every row is paired with the labelled-only student; the unlabelled-data row also with
    the labelled-only distilled row (its ``control``)."""
    return Suite('semi', [
        Row('teacher-l25', _V3_SEMI.format('teacher-l25_rgbx-sff-segformer', 'rgbt'),
            role='teacher',
            target=False, label='teacher RGB-T, 25 % labels'),
        Row('student-l25', _V3_SEMI.format('student-l25_segformer', 'rgb'), role='twin',
            label='RGB student, 25 % labels (no KD)'),
        Row('twin', 'configs/students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py',
            label='RGB student, 100 % labels (ceiling)'),
        Row('kd-l25', _V3_SEMI.format('kd-l25_segformer', 'rgbt'), teacher='teacher-l25',
            label='KD (tau 2), 25 % labelled only'),
        Row('kd-l25u75', _V3_SEMI.format('kd-l25u75_segformer', 'rgbt'), teacher='teacher-l25',
            control='kd-l25', label='KD (tau 2), 25 % labelled + 75 % unlabelled'),
        Row('dho-l25u75', _V3_SEMI.format('dho-l25u75_segformer', 'rgbt'), teacher='teacher-l25',
            control='kd-l25u75', head_mix=True,
            label='DHO (KD head + label head), 25 % labelled + 75 % unlabelled'),
    ], prepare=[['data_prep/label_subset.py', '{data_root}', '--fraction', '0.25', '--seed', '0']])


_V3_SEMI = 'configs/benchmark_v3/{}_mit-t_800it_synthetic-v3-{}-128x160.py'

SUITES = {'v3': v3, 'fskd': fskd, 'smoke': smoke, 'semi': semi}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f'unknown suite {name!r}; choose one of {sorted(SUITES)}')
    return SUITES[name]()
