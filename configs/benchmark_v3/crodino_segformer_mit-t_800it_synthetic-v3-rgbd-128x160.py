# CroDiNo-KD (arXiv 2505.24361) on the embedded benchmark v3 (RGB-D): the RGB twin's SegFormer and
# the v3 depth-only SegFormer (both from the synthetic-pretrained tiny MiT) co-trained in one run,
# no teacher. Method settings as configs/distill/crodino/crodino_segformer_mit-t_600it_synthetic-rgbd-128x160.py
# (a RECONSTRUCTION of the unpublished code: docs/methods/crodino.md (b)); lambda_con / lambda_orth
# 0.1 are the weights chosen on the v2 data, the harness's grid tries 0.1 / 0.3 / 1.0 on v3's val.
# Decoupled augmentation: shared geometry, depth scale jitter / noise / holes drawn for depth only;
# the RGB colour jitter is off so that the RGB model sees exactly the twin's pipeline (v3's RGB is
# already degraded by the generator) and the row measures the co-training, not an augmentation.
# Scored as a user would: tools/test.py reports mIoU_rgb (= mIoU) and mIoU_depth.
_base_ = [
    '../_base_/datasets/synthetic_v3_rgbd.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_v3.py', '../_base_/models/crodino_kd.py'
]
rgb_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py'
depth_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-depth-128x160.py'
model = dict(
    models=dict(rgb=rgb_config, depth=depth_config),
    lambda_con=0.1,
    lambda_orth=0.1,
    # 96x128 crops -> 12x16 = 192 cells at stride 8 per image; 128 of them (8 images: 1024 pixels)
    contrastive=dict(pixels_per_img=128))
train_pipeline = [
    dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
    {{_base_.depth_photometric}},
    dict(type='PackMultiModalInputs', modalities=('rgb', 'depth'))
]
test_pipeline = {{_base_.crodino_test_pipeline}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = {{_base_.crodino_evaluator}}
test_evaluator = {{_base_.crodino_evaluator}}
