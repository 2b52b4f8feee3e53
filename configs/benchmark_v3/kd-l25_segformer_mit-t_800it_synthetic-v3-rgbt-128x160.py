# Semi-supervised protocol of benchmark v3: KD (tau 2) from the teacher trained on the labelled 25 %
# (teacher-l25), on the labelled 25 % only (train_l25): the distilled row without unlabelled data.
_base_ = ['./kd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(teachers=dict(rgbt=dict(
    checkpoint='work_dirs/benchmark_semi/runs/teacher-l25/default/seed0/train')))
train_dataloader = dict(dataset=dict(split='train_l25'))
