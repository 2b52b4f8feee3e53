from .bf16_optim_wrapper import CPUBF16OptimWrapper
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .rng_state_hook import RNGStateHook
from .safe_checkpoint import SafeCheckpointHook

__all__ = [
    'CPUBF16OptimWrapper',
    'FiniteLossHook',
    'NonFiniteLossError',
    'RNGStateHook',
    'SafeCheckpointHook',
]
