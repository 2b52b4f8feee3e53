# Dense logit KD through the fused, memory-bounded kernel (KDLoss with impl='auto': tau^2 * per-pixel
# KL(softmax(z_t/tau) || softmax(z_s/tau)), void pixels excluded; chunked on CPU, Triton on CUDA)
# from the RGB-T teacher into the RGB-only tiny SegFormer student on the embedded dataset.
# Same value as the default impl='torch' (configs/distill/kd/), computed without B x K x H x W
# temporaries. (Formerly type='DenseKDLoss', now a deprecated alias.)
#   python tools/train.py configs/distill/relational/dense-kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py \
#       --cfg-options model.teachers.rgbt.checkpoint=path/to/teacher/iter_600.pth
_base_ = [
    '../../_base_/datasets/synthetic_rgbt.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_tiny.py'
]
teacher_config = '{{ fileDirname }}/../../teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbt-128x160.py'
teacher_checkpoint = 'work_dirs/demo/teacher/iter_600.pth'
student_config = '{{ fileDirname }}/../../students/segformer_mit-t_600it_synthetic-rgbt-128x160.py'
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    teachers=dict(
        rgbt=dict(config=teacher_config, checkpoint=teacher_checkpoint, modalities=('rgb', 'thermal'))),
    distill_losses=[
        dict(type='KDLoss', impl='auto', tau=2.0, loss_weight=1.0, student='logits', teacher='rgbt.logits',
             name='loss_dense_kd'),
    ])
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
