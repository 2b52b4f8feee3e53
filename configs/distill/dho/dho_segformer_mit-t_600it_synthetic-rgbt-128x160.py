# DHO (Dual-Head Optimisation, Kang et al. 2025, arXiv 2505.07675) from the RGB-T teacher into the
# RGB-only tiny SegFormer student on the embedded dataset: the student's label head (conv_seg) is
# trained by its own class-weighted CE, its KD head (conv_seg_kd, tap 'kd_logits') by Hinton KD
# (tau 2) on the teacher's logits; val/test score alpha * label + (1 - alpha) * kd (alpha 0.5).
#   python tools/train.py configs/distill/dho/dho_segformer_mit-t_600it_synthetic-rgbt-128x160.py
#   python tools/select_alpha.py <this config> work_dirs/<run>      # alpha on the val split
#   python tools/export.py <this config> work_dirs/<run>/iter_600.pth --format pth --alpha A \
#       --out-dir work_dirs/<run>/export                          # one stock SegformerHead
# Teacher checkpoint as in configs/distill/kd/ (--cfg-options model.teachers.rgbt.checkpoint=...).
_base_ = ['../kd/kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py']
student_config = '{{ fileDirname }}/../../students/segformer-dho_mit-t_600it_synthetic-rgbt-128x160.py'
model = dict(
    student=student_config,
    student_taps=dict(kd_logits='decode_head.conv_seg_kd'),
    distill_losses=[
        dict(type='KDLoss', tau=2.0, loss_weight=1.0, student='kd_logits', teacher='rgbt.logits',
             name='loss_kd'),
    ])
