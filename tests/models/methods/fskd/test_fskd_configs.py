"""Every FSKD config parses, names the regression metric, and keeps the student normalisation
consistent."""

import glob
import os

import pytest
from mmengine.config import Config

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
)
CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', 'distill', 'fskd', '*.py')))


def test_configs_exist():
    names = {os.path.basename(c) for c in CONFIGS}
    assert {
        'fskd-teacher_mit-t_300it_synthetic-forest-64x64.py',
        'fskd-student-gt_mit-t_300it_synthetic-forest-64x64.py',
        'fskd-distill_mit-t_300it_synthetic-forest-64x64.py',
        'fskd-distill_mit-b5-b2_80k_forest-rgbi20cm-512x512.py',
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_config_parses(path):
    cfg = Config.fromfile(path)
    assert cfg.test_evaluator.type == 'RegressionMetric'
    assert '{work_dir}' in cfg.test_evaluator.out_dir
    assert cfg.model.type in ('FSKDTeacher', 'RegressionEncoderDecoder', 'FSKDDistiller')
    if cfg.model.type == 'FSKDDistiller':
        assert cfg.model.student.data_preprocessor.mean == cfg.model.data_preprocessor.mean['rgb']
        assert os.path.isfile(os.path.join(ROOT, cfg.model.teacher))
