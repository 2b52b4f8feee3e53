# Hinton KD (tau 2) with each pixel's KL weighted by its ground-truth class's weight, the class
# weights of the student's CE (`class_weight` of the dataset base): plain KD on v3 cost the rare
# thin classes most of their IoU (docs/benchmarks.md), this row tests that diagnosis.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
model = dict(distill_losses=[
    dict(type='KDLoss', tau=2.0, loss_weight=1.0, class_weight={{_base_.class_weight}},
         student='logits', teacher='rgbt.logits'),
])
