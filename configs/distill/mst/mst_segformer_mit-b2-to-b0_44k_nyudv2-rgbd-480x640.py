# MST-Distill three-stage recipe on NYUDv2 (2k + 2k + 40k iterations, docs/methods/mst.md (e)6):
#   python tools/train_stages.py configs/distill/mst/mst_segformer_mit-b2-to-b0_44k_nyudv2-rgbd-480x640.py \
#       --cfg-options model.teachers.rgbd.checkpoint=<B2 RGB-D> model.teachers.depth.checkpoint=<B2 depth>
# Train the teachers first: configs/teachers/rgbx-sff-segformer_mit-b2_80k_nyudv2-rgbd-480x640.py and
# configs/teachers/segformer_mit-b2_80k_nyudv2-depthonly-480x640.py.
stages = [
    dict(name='stage1', config='mst-stage1_segformer_mit-b2-to-b0_2k_nyudv2-rgbd-480x640.py'),
    dict(name='stage2', config='mst-stage2_segformer_mit-b2-to-b0_2k_nyudv2-rgbd-480x640.py',
         load_from='stage1', load_mode='all'),
    dict(name='stage3', config='mst-stage3_segformer_mit-b2-to-b0_40k_nyudv2-rgbd-480x640.py',
         load_from='stage2', load_mode='all'),
]
