# CWD (logits + stage 4) as cwd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py, but offline: the
# RGB-T teacher is neither built nor run; its top-k logits (k = 4 of the 8 classes, residual mass
# spread uniformly) and its stage-4 fused features (fp16) come from a teacher cache
# (docs/teacher_cache.md). Make the cache once (resumable):
#   python tools/cache_teacher.py \
#       configs/benchmark_v3/cwd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py \
#       --out work_dirs/benchmark_v3/teacher_cache/rgbt-k4-stage4 --topk 4 --taps stage4
# (tools/benchmark.py methods makes it next to the teacher's run for the cwd-cached row).
_base_ = ['./cwd_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
teacher_cache = 'work_dirs/benchmark_v3/teacher_cache/rgbt-k4-stage4'
model = dict(teacher_cache=teacher_cache)
# the student reads RGB only and the teacher is cached: thermal is not loaded for training
train_dataloader = dict(dataset=dict(modalities=('rgb', )))
# no TeacherEvalHook: there is no teacher model in this run
custom_hooks = [dict(type='RNGStateHook')]
