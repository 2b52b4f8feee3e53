from .attention_kl import affinity_kl, attention_kl  # noqa: F401
from .dense_kd import dense_kd  # noqa: F401
