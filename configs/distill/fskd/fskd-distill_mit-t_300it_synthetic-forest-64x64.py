# FSKD distillation (reconstruction; docs/methods/fskd.md (b), defaults): frozen RGBI+LiDAR teacher -> RGBI-only student,
# L = lambda_gt * masked L1(student, LiDAR targets) + lambda_kd * masked L1(student, sg(teacher)).
# Train the teacher first:
#   python tools/train.py configs/distill/fskd/fskd-teacher_mit-t_300it_synthetic-forest-64x64.py
# (or pass --cfg-options model.teacher_checkpoint=<path>). Test reports the student (RGBI only).
_base_ = [
    './fskd-student-gt_mit-t_300it_synthetic-forest-64x64.py',
]
teacher_config = 'configs/distill/fskd/fskd-teacher_mit-t_300it_synthetic-forest-64x64.py'
teacher_checkpoint = 'work_dirs/fskd-teacher_mit-t_300it_synthetic-forest-64x64/iter_300.pth'
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
