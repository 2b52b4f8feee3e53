# Hinton KD (tau 2) as kd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py, but offline: the RGB-T
# teacher is neither built nor run, its top-k logits (k = 4 of the 8 classes, with the residual
# mass) come from a teacher cache (docs/teacher_cache.md). Make the cache once (resumable), from the
# same teacher checkpoint the kd config names (another checkpoint is refused when training):
#   python tools/cache_teacher.py \
#       configs/benchmark_v3/kd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py \
#       --out work_dirs/benchmark_v3/teacher_cache/rgbt-k4 --topk 4
# (tools/benchmark.py methods makes it next to the teacher's run for the kd-cached row)
# then train as usual (tools/train.py inserts LoadTeacherCache into the train pipeline):
#   python tools/train.py \
#       configs/benchmark_v3/kd-cached_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py
_base_ = ['./kd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
teacher_cache = 'work_dirs/benchmark_v3/teacher_cache/rgbt-k4'
model = dict(teacher_cache=teacher_cache)
# the student reads RGB only and the teacher is cached: thermal is not loaded for training
train_dataloader = dict(dataset=dict(modalities=('rgb', )))
# no TeacherEvalHook: there is no teacher model in this run
custom_hooks = [dict(type='RNGStateHook')]
