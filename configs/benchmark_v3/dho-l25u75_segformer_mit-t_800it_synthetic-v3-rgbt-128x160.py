# Semi-supervised protocol of benchmark v3 with DHO (Dual-Head Optimisation, Kang et al. 2025): the
# kd-l25u75 run (teacher on the labelled 25 %, 8 labelled + 8 unlabelled frames per batch), but the
# student has two heads on its decoder feature: the CE on labelled pixels trains conv_seg, KD on
# every sample trains conv_seg_kd (tap 'kd_logits'). The harness chooses the inference mix alpha on
# the validation split (tools/select_alpha.py) and scores the test split once at that alpha.
_base_ = ['./kd-l25u75_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(
    student='{{ fileDirname }}/student-dho_segformer_mit-t_800it_synthetic-v3-rgb-128x160.py',
    student_taps=dict(kd_logits='decode_head.conv_seg_kd'),
    distill_losses=[
        dict(type='KDLoss', tau=2.0, loss_weight=1.0, student='kd_logits', teacher='rgbt.logits',
             name='loss_kd'),
    ])
