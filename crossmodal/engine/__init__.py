from .bf16_optim_wrapper import CPUBF16OptimWrapper
from .rng_state_hook import RNGStateHook

__all__ = ['CPUBF16OptimWrapper', 'RNGStateHook']
