# Semi-supervised protocol of benchmark v3: KD (tau 2) from the teacher trained on the labelled 25 %
# (teacher-l25), on the labelled 25 % + the other 75 % of the train stems without labels. Every batch
# holds the 8 labelled samples of the labelled-only rows plus 8 unlabelled ones (MixedBatchSampler):
# the supervised CE sees the labelled pixels only, KD every sample (docs/semi_supervised.md).
_base_ = ['./kd-l25_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
train_dataloader = dict(
    batch_size=16,
    batch_sampler=dict(type='MixedBatchSampler', labelled_per_batch=8),
    dataset=dict(
        _delete_=True,
        type='MixedLabelDataset',
        data_root={{_base_.data_root}},  # both parts'
        labelled=dict(type={{_base_.dataset_type}}, split='train_l25',
                      modalities={{_base_.modalities}}, pipeline={{_base_.train_pipeline}}),
        unlabelled=dict(type={{_base_.dataset_type}}, split='train_u75',
                        modalities={{_base_.modalities}}, pipeline={{_base_.train_pipeline}})))
