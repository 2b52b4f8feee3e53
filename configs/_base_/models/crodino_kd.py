# CroDiNo-KD (arXiv 2505.24361, docs/methods/crodino.md): the method's settings shared by every
# CroDiNo config, each of which adds its two models (`models`), its loss weights lambda_con /
# lambda_orth and its contrastive pixel budget. Every design choice is a RECONSTRUCTION of the
# unpublished code (docs/methods/crodino.md (b), defaults): split of each SegformerHead's fusion_conv
# feature into z_inv (first C/2 channels) and z_spe (last C/2), shared light auxiliary decoder on
# z_inv, pixel-level symmetric InfoNCE (tau 0.1) at stride 8, orthogonality, modality classifier off,
# decoupled augmentation (`depth_photometric`: drawn for depth only).
model = dict(
    type='CroDiNoKD',
    model_modalities=dict(rgb=('rgb', ), depth=('depth', )),
    z_dim=None,  # C/2 of the head channels
    lambda_aux=1.0,
    lambda_mod=0.0,
    contrastive=dict(tau=0.1, stride_factor=2),
    aux_head=dict(dropout_ratio=0.1),
    branch='rgb')
depth_photometric = dict(
    type='DepthPhotometricAug', modality='depth', scale_range=(0.9, 1.1), scale_p=0.5,
    noise_std=0.0, noise_rel=0.01, noise_p=0.5, hole_p=0.5, max_holes=3, hole_size=(0.05, 0.2))
crodino_test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs', modalities=('rgb', 'depth'))
]
# validation / test report mIoU_rgb and mIoU_depth (mIoU = the RGB model)
crodino_evaluator = dict(
    type='MultiHeadIoUMetric', iou_metrics=['mIoU'],
    heads=dict(rgb='pred_sem_seg_rgb', depth='pred_sem_seg_depth'), main='rgb')
