# Semi-supervised dense Hinton KD (tau=2) from the MFNet MiT-B2 RGB-T teacher into the RGB-only
# MiT-B0 student: every batch holds 8 labelled MFNet train frames and 8 unlabelled frames of a pool
# of real RGB-T recordings (MSRS, converted by `data_prep/paired_frames.py --classes-like mfnet
# --out data/msrs`; docs/semi_supervised.md). The student's CE trains on the labelled pixels only,
# KD on every sample (MixedLabelDataset + MixedBatchSampler). The labelled frames keep the MFNet
# recipe's pipeline (0.5-1.75 scale; padding is void in their labels); the pool's frames are scaled
# 1-1.75 before the 480x640 crop, as in the label-free pool config, and any padding of theirs is kept
# out of the KD mean too. Validation and test: MFNet val / test, as in the MFNet KD recipe.
# Teacher: --cfg-options model.teachers.teacher.checkpoint=<teacher.pth or its work dir>.
# Recipe: 1 GPU x 16 images (8 labelled + 8 unlabelled; the MFNet recipe's LR, set for its 8
# labelled images). `batch_size` is per process: with N processes the global batch is N x 16;
# add --auto-scale-lr (LR x global/16) or set batch_size 16/N and labelled_per_batch 8/N.
_base_ = ['./kd_segformer_mit-b2-to-b0_80k_msrs-unlabelled-mfnet-val-rgbt-480x640.py']
train_dataloader = dict(
    batch_size=16,
    batch_sampler=dict(type='MixedBatchSampler', labelled_per_batch=8),
    dataset=dict(
        _delete_=True,
        type='MixedLabelDataset',
        labelled=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}}, split='train',
                      modalities={{_base_.modalities}}, pipeline={{_base_.train_pipeline}}),
        unlabelled=dict(type={{_base_.dataset_type}}, data_root={{_base_.pool_root}},
                        split='unlabelled', modalities={{_base_.modalities}},
                        pipeline={{_base_.pool_train_pipeline}})))
model = dict(with_label=True)
auto_scale_lr = dict(base_batch_size=16)
