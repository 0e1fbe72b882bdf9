"""Interactive widgets (ipywidgets). Each is a thin layer over a pure render/compute function.

Builders return an ipywidgets container; the pure functions (``render_*``, ``browse_*``,
``compute_*``) take and return numpy arrays / bytes / dicts and need no kernel.
"""
from .viewer import browse_dataset, dataset_browser, render_slice, slice_viewer  # noqa: F401
from .preprocess import (denoise_explorer, equalization_explorer, lung_segmentation_stepper,  # noqa: F401
                         region_grow_explorer, threshold_explorer, window_level_explorer)
from .conv import conv_stepper, kernel_explorer, nodule_pooling_explorer, pooling_explorer, receptive_field_explorer  # noqa: F401,E501
from .features import glcm_explorer, svm_explorer, texture_comparison, wavelet_viewer  # noqa: F401
