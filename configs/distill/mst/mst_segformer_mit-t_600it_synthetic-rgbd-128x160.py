# MST-Distill three-stage recipe (docs/methods/mst.md) on the embedded RGB-D dataset, one command:
#   python tools/train_stages.py configs/distill/mst/mst_segformer_mit-t_600it_synthetic-rgbd-128x160.py \
#       --work-dir work_dirs/mst --cfg-options \
#       model.teachers.rgbd.checkpoint=<RGB-D teacher iter_600.pth> \
#       model.teachers.depth.checkpoint=<depth-only model iter_600.pth> randomness.seed=0
#   python tools/test.py configs/distill/mst/mst-stage3_segformer_mit-t_450it_synthetic-rgbd-128x160.py \
#       work_dirs/mst/stage3/iter_450.pth
#   python tools/export_student.py configs/distill/mst/mst-stage3_segformer_mit-t_450it_synthetic-rgbd-128x160.py \
#       work_dirs/mst/stage3/iter_450.pth --out work_dirs/mst/export
# Lengths 150 + 150 + 450: the student trains 150 + 450 = 600 iterations, the RGB-only twin's budget
# (stage 2 trains only the MaskNets). Stages 2 and 3 start from *every* weight of the previous stage
# (student, teachers updated in stage 1, MaskNets): load_mode='all'.
stages = [
    dict(name='stage1', config='mst-stage1_segformer_mit-t_150it_synthetic-rgbd-128x160.py'),
    dict(name='stage2', config='mst-stage2_segformer_mit-t_150it_synthetic-rgbd-128x160.py',
         load_from='stage1', load_mode='all'),
    dict(name='stage3', config='mst-stage3_segformer_mit-t_450it_synthetic-rgbd-128x160.py',
         load_from='stage2', load_mode='all'),
]
