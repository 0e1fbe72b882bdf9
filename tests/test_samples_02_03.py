"""The 02/03 teaching samples of medlab.samples (re-exported by medlab.datasets): cached, read-only, right values."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import datasets, samples
from medlab.display import PRESETS, window_level


def test_lung_slice_is_the_lung_window_of_the_ct_and_read_only():
    ct = datasets.lung_slice()
    assert ct is samples.lung_slice() and ct.shape == (512, 512) and ct.dtype == np.float32
    hu = sitk.GetArrayFromImage(datasets.load_lung_ct().image)[samples.LUNG_SLICE_INDEX]
    np.testing.assert_array_equal(ct, window_level(hu, *PRESETS["lung"]))
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        ct[0, 0] = 1.0
    with pytest.raises(ValueError, match="index must be <= "):
        samples.lung_slice(99)
    with pytest.raises(TypeError, match="index must be an integer"):
        samples.lung_slice("14")


def test_stepper_patch_straddles_the_tumour_edge():
    patch = samples.stepper_patch()
    r, c = samples.STEPPER_PATCH_ORIGIN
    np.testing.assert_array_equal(patch, np.round(samples.lung_slice()[r:r + 8, c:c + 8].astype(np.float64), 2))
    assert patch[-1].mean() > patch[0].mean() + 0.2 and not patch.flags.writeable


def test_ct_channels_are_three_windows():
    x3 = samples.ct_channels()
    assert x3.shape == (512, 512, 3) and x3.dtype == np.float32 and not x3.flags.writeable
    np.testing.assert_array_equal(x3[..., 0], samples.lung_slice())
    hu = sitk.GetArrayFromImage(datasets.load_lung_ct().image)[samples.LUNG_SLICE_INDEX]
    np.testing.assert_array_equal(x3[..., 1], window_level(hu, preset="mediastinum"))


def test_pixel_spacing_comes_from_the_data():
    row_mm, col_mm = samples.pixel_spacing("lung CT")
    sx, sy, _ = datasets.load_lung_ct().image.GetSpacing()
    assert (row_mm, col_mm) == (sy, sx) and row_mm == pytest.approx(0.6465, abs=1e-4)
    assert samples.pixel_spacing("chest X-ray") is None   # the NIH PNG states no spacing
    with pytest.raises(ValueError, match="name must be one of"):
        samples.pixel_spacing("MRI")


def test_teaching_images_and_chest_xray():
    xr = samples.teaching_image("chest X-ray")
    assert xr is samples.chest_xray() and xr.shape == (512, 512) and 0 <= xr.min() and xr.max() <= 1
    np.testing.assert_array_equal(xr * 255, datasets.load_chest_xray().astype(np.float32))
    assert samples.teaching_image("lung CT") is samples.lung_slice()


def test_pneumonia_data_and_dense_templates():
    data = samples.pneumonia_data()
    xtr, ytr = data["train"]
    xte, yte = data["test"]
    raw, labels = datasets.load_pneumoniamnist("test")
    np.testing.assert_array_equal(xte * 255, raw.astype(np.float32))
    np.testing.assert_array_equal(yte, labels)
    assert not xtr.flags.writeable and xtr.dtype == np.float32
    for name in samples.DENSE_TEMPLATES:
        t = samples.dense_template(name)
        scores = xtr.reshape(len(xtr), -1) @ t.ravel()
        assert t.shape == (28, 28) and scores.std() == pytest.approx(1.0, rel=1e-4)
        assert samples.dense_template_mean(name) == pytest.approx(float(scores.mean()), rel=1e-5)
    diff = xtr[ytr == 1].mean(0) - xtr[ytr == 0].mean(0)
    t0 = samples.dense_template(samples.DENSE_TEMPLATES[0])
    np.testing.assert_allclose(t0 / np.abs(t0).max(), diff / np.abs(diff).max(), atol=1e-5)
    with pytest.raises(ValueError, match="name must be one of"):
        samples.dense_template("nope")
