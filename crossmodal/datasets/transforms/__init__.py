from .depth_aug import DepthPhotometricAug
from .dropout import ModalityDropout
from .formatting import PackMultiModalInputs
from .geometric import JointGeometricAug, MultiModalRandomCrop
from .loading import LoadMultiModalFromFile, SampleLoadError
from .photometric import ModalityPhotometricAug
from .resize import MultiModalResize
from .teacher_cache import LoadTeacherCache

__all__ = [
    'LoadMultiModalFromFile',
    'LoadTeacherCache',
    'SampleLoadError',
    'JointGeometricAug',
    'MultiModalRandomCrop',
    'MultiModalResize',
    'ModalityPhotometricAug',
    'ModalityDropout',
    'PackMultiModalInputs',
    'DepthPhotometricAug',
]
