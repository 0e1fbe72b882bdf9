"""Interactive widgets (ipywidgets). Each is a thin layer over a pure render/compute function.

Builders return an ipywidgets container; the pure functions (``render_*``, ``browse_*``,
``compute_*``) take and return numpy arrays / bytes / dicts and need no kernel.
"""
from .viewer import browse_dataset, dataset_browser, render_slice, slice_viewer  # noqa: F401
from .preprocess import (box_grow_explorer, denoise_explorer, equalization_explorer,  # noqa: F401
                         lung_segmentation_stepper, region_grow_explorer, threshold_explorer, window_level_explorer)
from .medimages import dicom_series_browser, hu_profile_explorer, resampling_explorer, voxel_inspector  # noqa: F401
from .conv import conv_stepper, kernel_explorer, nodule_pooling_explorer, pooling_explorer, receptive_field_explorer  # noqa: F401,E501
from .conv import (channel_mix_explorer, dense_neuron_explorer, feature_map_explorer, flip_explorer,  # noqa: F401
                   im2col_explorer, output_size_explorer, param_count_explorer, speed_explorer)
from .features import (baseline_threshold_explorer, feature_histograms, first_order_explorer,  # noqa: F401
                       glcm_by_hand, glcm_explorer, shape_explorer, svm_explorer, texture_comparison, wavelet_viewer)
