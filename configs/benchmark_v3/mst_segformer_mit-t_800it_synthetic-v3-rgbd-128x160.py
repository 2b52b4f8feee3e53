# MST-Distill three-stage recipe on the embedded benchmark v3 (RGB-D), one command:
#   python tools/train_stages.py configs/benchmark_v3/mst_segformer_mit-t_800it_synthetic-v3-rgbd-128x160.py \
#       --work-dir work_dirs/mst_v3 --cfg-options \
#       model.teachers.rgbd.checkpoint=<v3 RGB-D teacher iter_800.pth> \
#       model.teachers.depth.checkpoint=<v3 depth-only model iter_800.pth> randomness.seed=0
# Lengths 200 + 200 + 600: the student trains 200 + 600 = 800 iterations, the RGB twin's budget
# (stage 2 trains only the MaskNets). Stages 2 and 3 start from every weight of the previous stage.
stages = [
    dict(name='stage1', config='mst-stage1_segformer_mit-t_200it_synthetic-v3-rgbd-128x160.py'),
    dict(name='stage2', config='mst-stage2_segformer_mit-t_200it_synthetic-v3-rgbd-128x160.py',
         load_from='stage1', load_mode='all'),
    dict(name='stage3', config='mst-stage3_segformer_mit-t_600it_synthetic-v3-rgbd-128x160.py',
         load_from='stage2', load_mode='all'),
]
