# GKD two-stage recipe on the embedded benchmark v3 (tools/train_stages.py; 400 + 400 iterations).
stages = [
    dict(name='stage1', config='gkd-stage1_segformer_mit-t_400it_synthetic-v3-rgbt-128x160.py'),
    dict(name='stage2', config='gkd-stage2_segformer_mit-t_400it_synthetic-v3-rgbt-128x160.py',
         load_from='stage1'),
]
