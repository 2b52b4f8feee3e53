# GKD two-stage recipe (docs/methods/gkd.md) as one command:
#   python tools/train_stages.py configs/distill/gkd/gkd_segformer_mit-t_600it_synthetic-rgbt-128x160.py
# Stage configs are paths relative to this file. `load_from='stage1'` makes tools/train_stages.py
# extract the student of stage 1's last checkpoint (teacher and QSD modules dropped) and load it.
stages = [
    dict(name='stage1', config='gkd-stage1_segformer_mit-t_300it_synthetic-rgbt-128x160.py'),
    dict(name='stage2', config='gkd-stage2_segformer_mit-t_300it_synthetic-rgbt-128x160.py',
         load_from='stage1'),
]
