from .adapt import adapt_input_conv
from .mit import MiT

__all__ = ['MiT', 'adapt_input_conv']
