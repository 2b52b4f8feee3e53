# Runtime shared by every crossmodal config (mmseg conventions).
default_scope = 'mmseg'
custom_imports = dict(imports=['crossmodal'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
# RNGStateHook stores torch's RNG state in checkpoints so `--resume` continues exactly;
# FiniteLossHook stops training on a NaN/inf loss before the step is applied or saved
# (action='skip' skips such steps instead). See crossmodal/engine. Configs that override
# custom_hooks get FiniteLossHook from tools/train.py (runner_setup.install_reliability_hooks).
custom_hooks = [dict(type='RNGStateHook'), dict(type='FiniteLossHook')]
