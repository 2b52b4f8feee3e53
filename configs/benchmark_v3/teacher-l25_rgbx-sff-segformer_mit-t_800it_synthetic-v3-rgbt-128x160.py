# Semi-supervised protocol of benchmark v3 (tools/benchmark.py methods --suite semi): the RGB-T
# teacher trained on the labelled 25 % of the train stems only (`python data_prep/label_subset.py
# data/synthetic_v3 --fraction 0.25` writes train_l25 / train_u75); everything else as the v3 teacher.
_base_ = ['../teachers/rgbx-sff-segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
train_dataloader = dict(dataset=dict(split='train_l25'))
