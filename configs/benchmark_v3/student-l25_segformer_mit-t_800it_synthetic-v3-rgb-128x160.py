# Semi-supervised protocol of benchmark v3: the RGB student on the labelled 25 % of the train stems
# (train_l25), no teacher: the twin of the semi-supervised distillation rows.
_base_ = ['../students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py']
train_dataloader = dict(dataset=dict(split='train_l25'))
