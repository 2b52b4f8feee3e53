# FSKD distillation on real 20 cm RGBI tiles: frozen MiT-B5 RGBI+LiDAR teacher -> MiT-B2 RGBI student
# (reconstruction; docs/methods/fskd.md (b), defaults: lambda_gt 1, lambda_kd 1, L1). Train the teacher first, then
#   python tools/train.py <this config> --cfg-options model.teacher_checkpoint=<teacher best/last .pth>
# Recipe: 1 GPU x 2 images (global batch 2). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 2; add --auto-scale-lr (LR x global/2)
# or set train_dataloader.batch_size to 2/N.
_base_ = ['./fskd-student-gt_mit-b2_80k_forest-rgbi20cm-512x512.py']
teacher_config = '{{ fileDirname }}/fskd-teacher_mit-b5_80k_forest-rgbi20cm-512x512.py'
teacher_checkpoint = 'work_dirs/fskd-teacher_mit-b5_80k_forest-rgbi20cm-512x512'
student = {{_base_.model}}
model = dict(
    _delete_=True,
    type='FSKDDistiller',
    data_preprocessor=dict(type='MultiModalDataPreprocessor', mean={{_base_.modality_mean}},
                           std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    student=student,
    teacher=teacher_config,
    teacher_checkpoint=teacher_checkpoint,
    student_key='rgb',
    lambda_gt=1.0,
    lambda_kd=1.0,
    kd_loss=dict(type='MaskedL1Loss', loss_weight=1.0, loss_name='loss_kd'),
    kd_mask_no_data=False,
    kd_confidence_tau=0.0,
    feature_kd=dict(loss_weight=0.0))  # > 0: decoder-feature MSE KD (1x1 connector when widths differ)
train_dataloader = dict(dataset=dict(modalities=('rgb', 'lidar'), pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.distill_test_pipeline}}))
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=2)
