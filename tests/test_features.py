"""Tests for medlab.features: own GLCM/Haar vs scikit-image/PyWavelets, invariants, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import pywt
import scipy.stats
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from skimage.feature import graycomatrix, graycoprops

from medlab import features as F

SETTINGS = settings(max_examples=40, deadline=None)
ANGLES = [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
SKIMAGE_PROPS = {"contrast": "contrast", "dissimilarity": "dissimilarity", "homogeneity": "homogeneity",
                 "energy": "energy", "ASM": "ASM", "correlation": "correlation", "entropy": "entropy",
                 "joint_average": "mean", "joint_variance": "variance"}


@st.composite
def grey_images(draw, max_levels=12, max_side=14):
    levels = draw(st.integers(2, max_levels))
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    img = draw(arrays(np.uint8, (h, w), elements=st.integers(0, levels - 1)))
    return img, levels


# --------------------------------------------------------------------------- GLCM vs skimage
@SETTINGS
@given(grey_images(), st.lists(st.integers(1, 4), min_size=1, max_size=3),
       st.lists(st.sampled_from(ANGLES) | st.floats(0, 2 * np.pi), min_size=1, max_size=4),
       st.booleans(), st.booleans())
def test_glcm_equals_graycomatrix(img_levels, distances, angles, symmetric, normed):
    img, levels = img_levels
    ref = graycomatrix(img, distances, angles, levels=levels, symmetric=symmetric, normed=normed)
    if np.any(ref.sum(axis=(0, 1)) == 0):   # an offset with no pair inside: skimage returns zeros, we refuse
        with pytest.raises(ValueError, match="no pixel pair"):
            F.glcm(img, distances, angles, levels=levels, symmetric=symmetric, normed=normed)
        return
    ours = F.glcm(img, distances, angles, levels=levels, symmetric=symmetric, normed=normed)
    assert ours.shape == ref.shape == (levels, levels, len(distances), len(angles))
    assert ours.dtype == ref.dtype
    if normed:
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_array_equal(ours, ref)


def test_glcm_docstring_example_of_skimage():
    img = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 2], [2, 2, 3, 3]], np.uint8)
    P = F.glcm(img, [1], ANGLES, levels=4)
    assert P[:, :, 0, 2].tolist() == [[3, 0, 2, 0], [0, 2, 2, 0], [0, 0, 1, 2], [0, 0, 0, 0]]


@SETTINGS
@given(grey_images(max_levels=10, max_side=12), st.booleans())
def test_glcm_features_equal_graycoprops(img_levels, symmetric):
    img, levels = img_levels
    P = graycomatrix(img, [1, 2], ANGLES, levels=levels, symmetric=symmetric)
    if np.any(P.sum(axis=(0, 1)) == 0):     # an all-zero GLCM has no features (skimage: contrast 0, corr 1)
        with pytest.raises(ValueError, match="all zeros"):
            F.glcm_features(P)
        return
    ours = F.glcm_features(P)
    for name, prop in SKIMAGE_PROPS.items():
        np.testing.assert_allclose(ours[name], graycoprops(P, prop), rtol=1e-9, atol=1e-12, err_msg=name)


@st.composite
def count_matrices(draw):
    L = draw(st.integers(2, 8))
    shape = (L, L, draw(st.integers(1, 2)), draw(st.integers(1, 3)))
    return draw(arrays(np.int64, shape, elements=st.integers(0, 50)))


@SETTINGS
@given(count_matrices())
def test_glcm_features_of_random_counts_match_skimage(P):
    if np.any(P.sum(axis=(0, 1)) == 0):
        with pytest.raises(ValueError, match="all zeros"):
            F.glcm_features(P)
        return
    ours = F.glcm_features(P)
    for name, prop in SKIMAGE_PROPS.items():
        np.testing.assert_allclose(ours[name], graycoprops(P, prop), rtol=1e-9, atol=1e-12, err_msg=name)


def test_glcm_features_match_direct_formulas():
    rng = np.random.default_rng(3)
    P = rng.integers(0, 20, (6, 6)).astype(float)
    p = P / P.sum()
    i, j = np.indices(p.shape)
    px, py = p.sum(1), p.sum(0)
    mux, muy = (np.arange(6) * px).sum(), (np.arange(6) * py).sum()
    f = F.glcm_features(P, average=True)
    assert f["cluster_shade"] == pytest.approx(((i + j - mux - muy) ** 3 * p).sum())
    assert f["cluster_prominence"] == pytest.approx(((i + j - mux - muy) ** 4 * p).sum())
    assert f["autocorrelation"] == pytest.approx((i * j * p).sum())
    assert f["max_probability"] == pytest.approx(p.max())
    sa = sum(k * p[(i + j) == k].sum() for k in range(11))
    assert f["sum_average"] == pytest.approx(sa)
    assert f["sum_variance"] == pytest.approx(sum((k - sa) ** 2 * p[(i + j) == k].sum() for k in range(11)))
    da = (np.abs(i - j) * p).sum()
    assert f["difference_variance"] == pytest.approx(sum((k - da) ** 2 * p[np.abs(i - j) == k].sum()
                                                         for k in range(6)))
    pd = np.array([p[np.abs(i - j) == k].sum() for k in range(6)])
    assert f["difference_entropy"] == pytest.approx(-(pd[pd > 0] * np.log(pd[pd > 0])).sum())
    assert f["inverse_variance"] == pytest.approx(sum(pd[k] / k ** 2 for k in range(1, 6)))
    # IMC from the textbook definitions with HXY1 and HXY2 computed the long way
    hxy = -(p[p > 0] * np.log(p[p > 0])).sum()
    hx, hy = -(px * np.log(px)).sum(), -(py * np.log(py)).sum()
    outer = np.outer(px, py)
    hxy1 = -(p * np.log(outer)).sum()
    hxy2 = -(outer * np.log(outer)).sum()
    assert f["imc1"] == pytest.approx((hxy - hxy1) / max(hx, hy))
    assert f["imc2"] == pytest.approx(math.sqrt(1 - math.exp(-2 * (hxy2 - hxy))))
    f2 = F.glcm_features(P, average=True, log_base=2)
    assert f2["entropy"] == pytest.approx(hxy / math.log(2))
    assert f2["imc1"] == pytest.approx(f["imc1"])


# --------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("value", [0, 3, 7])
def test_constant_image_has_no_texture(value):
    img = np.full((9, 11), value, np.uint8)
    f = F.glcm_features(F.glcm(img, [1, 2], ANGLES, levels=8), average=True)
    assert f["contrast"] == 0 and f["dissimilarity"] == 0
    assert f["energy"] == pytest.approx(1.0) and f["ASM"] == pytest.approx(1.0)
    assert f["homogeneity"] == pytest.approx(1.0) and f["entropy"] == pytest.approx(0.0)
    assert f["correlation"] == 1.0 and f["max_probability"] == pytest.approx(1.0)
    assert f["joint_average"] == pytest.approx(value)
    assert f["imc1"] == 0 and f["imc2"] == 0


@SETTINGS
@given(grey_images())
def test_symmetric_glcm_invariants(img_levels):
    img, levels = img_levels
    if min(img.shape) < 2:                      # a 1-pixel-wide image has no pair at 90 or 45 degrees
        with pytest.raises(ValueError, match="no pixel pair"):
            F.glcm(img, [1], ANGLES, levels=levels, symmetric=True, normed=True)
        return
    P = F.glcm(img, [1], ANGLES, levels=levels, symmetric=True, normed=True)
    sums = P.sum(axis=(0, 1))
    assert np.all(np.abs(sums - 1) < 1e-12)
    np.testing.assert_allclose(P, P.transpose(1, 0, 2, 3))
    f = F.glcm_features(P)
    np.testing.assert_allclose(f["sum_average"], 2 * f["joint_average"], atol=1e-9)
    np.testing.assert_allclose(f["difference_average"], f["dissimilarity"], atol=1e-12)
    assert np.all(f["imc1"] <= 1e-12) and np.all(f["imc1"] >= -1 - 1e-12)
    assert np.all((f["imc2"] >= 0) & (f["imc2"] <= 1))
    assert np.all((f["correlation"] >= -1 - 1e-9) & (f["correlation"] <= 1 + 1e-9))
    assert np.all(f["homogeneity"] <= 1 + 1e-12) and np.all(f["energy"] <= 1 + 1e-12)


def test_glcm_is_shift_invariant_in_features_and_rotation_swaps_angles():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 6, (20, 20)).astype(np.uint8)
    P = F.glcm(img, [1], [0, np.pi / 2], levels=6)
    Pt = F.glcm(img.T.copy(), [1], [0, np.pi / 2], levels=6)
    np.testing.assert_array_equal(P[:, :, 0, 0], Pt[:, :, 0, 1])


def test_glcm_mask_counts_only_pairs_inside():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 4, (10, 10)).astype(np.uint8)
    full = np.ones_like(img, bool)
    np.testing.assert_array_equal(F.glcm(img, [1], ANGLES, levels=4, mask=full), F.glcm(img, [1], ANGLES, levels=4))
    mask = np.zeros_like(img, bool)
    mask[2:7, 3:9] = True
    np.testing.assert_array_equal(F.glcm(img, [1, 2], ANGLES, levels=4, mask=mask),
                                  graycomatrix(img[2:7, 3:9], [1, 2], ANGLES, levels=4))


# --------------------------------------------------------------------------- quantise
@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 10), st.integers(1, 10)),
              elements=st.floats(-2000, 3000, allow_nan=False)), st.integers(2, 64))
def test_quantize_range_and_order(img, levels):
    q = F.quantize(img, levels)
    assert q.dtype == np.uint8 and q.shape == img.shape
    assert q.min() >= 0 and q.max() <= levels - 1
    order = np.argsort(img, axis=None, kind="stable")
    assert np.all(np.diff(q.ravel()[order].astype(int)) >= 0)  # monotone
    if img.max() > img.min():
        assert q.ravel()[np.argmin(img)] == 0 and q.ravel()[np.argmax(img)] == levels - 1


def test_quantize_fixed_range_and_uint8_identity():
    x = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(F.quantize(x, 256, vmin=0, vmax=255), x)
    assert F.quantize(np.array([-2000, -1000, 400, 5000]), 7, vmin=-1000, vmax=400).tolist() == [0, 0, 6, 6]
    assert F.quantize(np.full((3, 3), 5.0), 8).max() == 0


# --------------------------------------------------------------------------- first order
@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(2, 12)),
              elements=st.floats(-1000, 1000, allow_nan=False)))
def test_first_order_matches_numpy_scipy(img):
    f = F.first_order(img)
    v = img.ravel()
    assert f["mean"] == pytest.approx(v.mean(), abs=1e-9)
    assert f["std"] == pytest.approx(v.std(), abs=1e-9)
    assert f["p25"] == pytest.approx(np.percentile(v, 25)) and f["p90"] == pytest.approx(np.percentile(v, 90))
    if v.std() > 1e-6 * max(1, abs(v.mean())):
        assert f["skewness"] == pytest.approx(scipy.stats.skew(v), rel=1e-6, abs=1e-9)
        assert f["kurtosis"] == pytest.approx(scipy.stats.kurtosis(v), rel=1e-6, abs=1e-9)
    assert 0 <= f["entropy"] <= math.log(32) + 1e-12
    assert 1 / 32 - 1e-12 <= f["uniformity"] <= 1 + 1e-12


def test_first_order_mask_uses_only_region():
    img = np.zeros((6, 6))
    img[:3] = 100.0
    mask = np.zeros((6, 6), bool)
    mask[:3] = True
    f = F.first_order(img, mask)
    assert f["mean"] == 100 and f["std"] == 0 and f["entropy"] == 0 and f["uniformity"] == 1


# --------------------------------------------------------------------------- wavelets
@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 15), st.integers(1, 15)),
              elements=st.floats(-100, 100, allow_nan=False)))
def test_haar2d_equals_pywt(img):
    cA, (cH, cV, cD) = F.haar2d(img)
    rA, (rH, rV, rD) = pywt.dwt2(img, "haar")
    for ours, ref in [(cA, rA), (cH, rH), (cV, rV), (cD, rD)]:
        np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_haar2d_preserves_energy_for_even_sizes():
    x = np.random.default_rng(2).normal(size=(16, 12))
    cA, details = F.haar2d(x)
    assert sum((c ** 2).sum() for c in (cA, *details)) == pytest.approx((x ** 2).sum())


@pytest.mark.parametrize("wavelet,level", [("haar", 1), ("haar", 3), ("db2", 2), ("sym4", 1)])
def test_wavelet_energies_match_pywt(wavelet, level):
    x = np.random.default_rng(4).normal(size=(32, 28))
    e = F.wavelet_energies(x, wavelet, level)
    coeffs = pywt.wavedec2(x, wavelet, level=level)
    assert e[f"wavelet_A{level}"] == pytest.approx((coeffs[0] ** 2).mean())
    assert e["wavelet_L1_D"] == pytest.approx((coeffs[-1][2] ** 2).mean())
    assert len(e) == 1 + 3 * level


# --------------------------------------------------------------------------- shape
def test_shape_features_disc_and_spacing():
    r, c = np.mgrid[:101, :101]
    disc = (r - 50) ** 2 + (c - 50) ** 2 <= 40 ** 2
    f1 = F.shape_features(disc)
    assert f1["size_mm"] == disc.sum() and f1["n_pixels"] == disc.sum()
    assert f1["equivalent_diameter_mm"] == pytest.approx(80, rel=0.01)
    assert f1["elongation"] == pytest.approx(1, abs=0.01) and f1["roundness"] > 0.95
    f2 = F.shape_features(disc, spacing=(0.5, 2.0))
    assert f2["size_mm"] == pytest.approx(disc.sum() * 1.0)
    rect = np.zeros((30, 50), bool)
    rect[5:15, 5:45] = True
    f3 = F.shape_features(rect, spacing=(0.5, 0.5))
    assert f3["size_mm"] == pytest.approx(100.0) and f3["elongation"] == pytest.approx(4, rel=0.02)
    ball = np.zeros((9, 9, 9), bool)
    ball[2:7, 2:7, 2:7] = True
    f4 = F.shape_features(ball, spacing=(1, 1, 2))
    assert f4["size_mm"] == pytest.approx(250) and "flatness" in f4 and np.isnan(f4["feret_diameter_mm"])
    assert F.shape_features(ball, feret=True)["feret_diameter_mm"] == pytest.approx(math.sqrt(3 * 16))
    assert F.shape_features(rect, feret=False)["feret_diameter_mm"] != F.shape_features(rect)["feret_diameter_mm"]


# --------------------------------------------------------------------------- extraction
def test_extract_features_batch_equals_per_image_and_is_deterministic():
    x = np.random.default_rng(5).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    x[3] = 7  # a constant image
    a = F.extract_features(x, chunk_size=16, progress=False)
    b = F.extract_features(list(x), progress=False)
    c = F.extract_features(list(x), masks=[np.ones((28, 28), bool)] * 40, progress=False)
    assert set(a) == set(b) and len(a) == len(F.FIRST_ORDER_FEATURES) + len(F.GLCM_FEATURES) + 7
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-12, err_msg=k)
        np.testing.assert_allclose(a[k], c[k], rtol=1e-9, atol=1e-12, err_msg=k)
        assert np.all(np.isfinite(a[k])), k
    assert {k for k in c if k.startswith("shape_")} and np.all(c["shape_size_mm"] == 784)
    again = F.extract_features(x, progress=False)
    assert all(np.array_equal(a[k], again[k]) for k in a)
    single = F.image_features(x[0])
    assert single["glcm_contrast"] == pytest.approx(a["glcm_contrast"][0])
    X, names = F.feature_matrix(a)
    assert X.shape == (40, len(a)) and names == list(a)


def test_extract_features_variable_sizes_with_masks():
    rng = np.random.default_rng(6)
    imgs = [rng.normal(size=(20, 30)), rng.normal(size=(15, 15))]
    masks = [np.pad(np.ones((10, 10), bool), ((5, 5), (10, 10))), np.ones((15, 15), bool)]
    t = F.extract_features(imgs, masks, spacing=(0.7, 0.7), progress=False)
    assert t["shape_size_mm"] == pytest.approx([100 * 0.49, 225 * 0.49])
    assert t["fo_mean"][0] == pytest.approx(imgs[0][masks[0]].mean())


# --------------------------------------------------------------------------- bad input
def test_bad_input_errors_name_the_argument():
    img = np.zeros((5, 5), np.uint8)
    with pytest.raises(TypeError, match="quantize"):
        F.glcm(np.zeros((5, 5)), [1], [0], levels=4)
    with pytest.raises(ValueError, match="levels must be an int >= 2"):
        F.glcm(img, [1], [0], levels=1)
    with pytest.raises(TypeError, match="levels"):
        F.quantize(img, 2.5)
    with pytest.raises(ValueError, match="levels=4"):
        F.glcm(img + 4, [1], [0], levels=4)
    with pytest.raises(ValueError, match="negative"):
        F.glcm(np.full((3, 3), -1, np.int16), [1], [0], levels=4)
    with pytest.raises(ValueError, match="distances"):
        F.glcm(img, [0], [0], levels=4)
    with pytest.raises(ValueError, match="angles"):
        F.glcm(img, [1], [], levels=4)
    with pytest.raises(ValueError, match="2-D"):
        F.glcm(np.zeros((2, 3, 3), np.uint8), [1], [0], levels=4)
    with pytest.raises(ValueError, match="NaN"):
        F.quantize(np.array([[1.0, np.nan]]), 4)
    with pytest.raises(ValueError, match="NaN"):
        F.first_order(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="vmax must be greater than vmin"):
        F.quantize(img, 4, vmin=3, vmax=3)
    with pytest.raises(ValueError, match="mask is empty"):
        F.first_order(img, np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="mask is empty"):
        F.shape_features(np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="mask shape"):
        F.glcm(img, [1], [0], levels=4, mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="spacing"):
        F.shape_features(np.ones((3, 3), bool), spacing=(1.0,))
    with pytest.raises(ValueError, match="P must be 4-D"):
        F.glcm_features(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match="square"):
        F.glcm_features(np.zeros((4, 3, 1, 1)))
    with pytest.raises(ValueError, match="average"):
        F.glcm_features(np.ones((4, 4)), average="distances")
    with pytest.raises(ValueError, match="wavelet must be"):
        F.wavelet_energies(np.zeros((8, 8)), "nope")
    with pytest.raises(ValueError, match="level must be <="):
        F.wavelet_energies(np.zeros((8, 8)), "haar", level=5)
    with pytest.raises(ValueError, match="images is empty"):
        F.extract_features(np.zeros((0, 8, 8)), progress=False)
    with pytest.raises(ValueError, match="masks must have one mask per image"):
        F.extract_features([img, img], masks=[img], progress=False)
    with pytest.raises(ValueError, match="image 1: mask is empty"):
        F.extract_features([img, img], masks=[np.ones((5, 5)), np.zeros((5, 5))], progress=False)
    with pytest.raises(ValueError, match="NaN"):
        F.extract_features(np.full((2, 4, 4), np.nan), progress=False)
    with pytest.raises(TypeError, match="image must be"):
        F.haar2d("not an image")


# ------------------------------------------------------------------ review fixes
def test_glcm_features_memory_is_quadratic_in_levels():
    """p_{x+y}, p_{x-y} used dense (2L-1) x L^2 matrices: 430+ MB for L=300, MemoryError for 1024."""
    import tracemalloc

    rng = np.random.default_rng(1)
    L = 300
    P = F.glcm(rng.integers(0, L, (40, 40)).astype(np.uint16), [1], ANGLES, levels=L, symmetric=True)
    F._MATS.pop(L, None)
    tracemalloc.start()
    f = F.glcm_features(P)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 60e6, f"peak {peak / 1e6:.0f} MB"
    # same values as the direct formulas
    p = P[:, :, 0, 1].astype(float) / P[:, :, 0, 1].sum()
    i, j = np.indices(p.shape)
    pplus = np.bincount((i + j).ravel(), weights=p.ravel(), minlength=2 * L - 1)
    pminus = np.bincount(np.abs(i - j).ravel(), weights=p.ravel(), minlength=L)
    k = np.arange(2 * L - 1)
    assert f["sum_average"][0, 1] == pytest.approx((k * pplus).sum(), rel=1e-12)
    assert f["difference_average"][0, 1] == pytest.approx((np.arange(L) * pminus).sum(), rel=1e-12)
    big = F.glcm(rng.integers(0, 1024, (16, 16)).astype(np.uint16), [1], [0.0], levels=1024)
    assert np.isfinite(F.glcm_features(big, average=True)["sum_entropy"])


@pytest.mark.parametrize("batch", [True, False])
def test_extract_features_validates_range_and_log_base_on_both_paths(batch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3, 12, 12)).astype(np.uint8)
    imgs = x if batch else list(x)   # a stack takes the vectorised path, a list the per-image one
    kw = dict(progress=False)
    with pytest.raises(ValueError, match="vmax must be greater than vmin"):
        F.extract_features(imgs, vmin=200, vmax=10, **kw)
    with pytest.raises(ValueError, match="vmax must be greater than vmin"):
        F.extract_features(imgs, vmin=5, vmax=5, **kw)
    with pytest.raises(ValueError, match="vmin and vmax must be finite"):
        F.extract_features(imgs, vmin=float("nan"), **kw)
    with pytest.raises(ValueError, match="image 0: vmax must be greater than vmin"):  # only vmin, above the maximum
        F.extract_features(imgs, vmin=300, **kw)
    with pytest.raises(TypeError, match="vmin must be a number"):
        F.extract_features(imgs, vmin="0", **kw)
    for bad in (1, -2, 0, float("inf")):
        with pytest.raises(ValueError, match="log_base must be a finite positive number other than 1"):
            F.extract_features(imgs, log_base=bad, **kw)
    with pytest.raises(TypeError, match="log_base must be a number"):
        F.extract_features(imgs, log_base="e", **kw)
    t = F.extract_features(imgs, vmin=0, vmax=255, log_base=2, **kw)
    assert all(np.isfinite(v).all() for v in t.values())


def test_shape_features_spacing_validated_for_arrays_and_sitk_images():
    import SimpleITK as sitk

    m = np.zeros((9, 9), np.uint8)
    m[2:7, 3:6] = 1
    img = sitk.GetImageFromArray(m)
    for mask in (m, img):
        for bad in ((-1, 1), (0, 1), (np.nan, 1), (1, 1, 1)):
            with pytest.raises(ValueError, match=r"spacing must be 2 positive sizes in mm \(x, y"):
                F.shape_features(mask, spacing=bad)
        with pytest.raises(ValueError, match="spacing must be 2 positive sizes"):
            F.shape_features(mask, spacing=("a", 1))
    f_arr = F.shape_features(m, spacing=(0.5, 2.0))
    f_img = F.shape_features(img, spacing=(0.5, 2.0))
    assert f_arr == pytest.approx(f_img, nan_ok=True)
    assert f_arr["size_mm"] == pytest.approx(15 * 0.5 * 2.0)


def test_glcm_rejects_angles_in_degrees():
    img = np.zeros((5, 5), np.uint8)
    for bad in ([45], [0, 90], [-0.5], [7.0]):
        with pytest.raises(ValueError, match=r"angles must be in radians in \[0, 2.pi\].*deg2rad"):
            F.glcm(img, [1], bad, levels=2)
    assert F.glcm(img, [1], [0, 2 * np.pi], levels=2).shape == (2, 2, 1, 2)


# ----------------------------------------------------------------------------- moved from widgets.features (05)
@pytest.mark.parametrize("distance,angle", [(1, 0), (1, 45), (2, 90), (1, 135), (3, 45)])
@pytest.mark.parametrize("symmetric", [False, True])
def test_glcm_pairs_equal_glcm_and_skimage(distance, angle, symmetric):
    patch = np.random.default_rng(distance + angle).integers(0, 4, (6, 5)).astype(np.uint8)
    r = F.glcm_pairs(patch, distance, angle, levels=4, symmetric=symmetric)
    ref = graycomatrix(patch, [distance], [np.deg2rad(angle)], levels=4, symmetric=symmetric)[:, :, 0, 0]
    np.testing.assert_array_equal(r["counts"], ref)
    np.testing.assert_array_equal(r["counts"], F.glcm(patch, [distance], [np.deg2rad(angle)], levels=4,
                                                      symmetric=symmetric)[:, :, 0, 0])
    dr, dc = r["offset"]
    assert (dr, dc) == F.glcm_offset(distance, np.deg2rad(angle))
    assert np.all(r["pairs"][:, 2] - r["pairs"][:, 0] == dr) and np.all(r["pairs"][:, 3] - r["pairs"][:, 1] == dc)
    assert len(r["pairs"]) == (6 - abs(dr)) * (5 - abs(dc))
    # scan order: row-major over the reference pixel
    keys = r["pairs"][:, 0] * 10 + r["pairs"][:, 1]
    assert np.all(np.diff(keys) > 0)


def test_glcm_pairs_on_the_exercise_patch_and_bad_input():
    from medlab.exercises.features import check_glcm_4x4
    from medlab.samples import glcm_example_4x4

    ex = glcm_example_4x4()
    r = F.glcm_pairs(ex, 1, 0)
    assert len(r["pairs"]) == 12 and check_glcm_4x4(r["counts"])
    gone = F.glcm_pairs(ex, 4, 0)                      # no neighbour 4 pixels right inside a 4x4 patch
    assert len(gone["pairs"]) == 0 and gone["counts"].sum() == 0 and gone["offset"] == (0, 4)
    with pytest.raises(ValueError, match="grey levels"):
        F.glcm_pairs(ex, 1, 0, levels=2)
    with pytest.raises(TypeError, match="integer"):
        F.glcm_pairs(ex.astype(float), 1, 0)
    with pytest.raises(ValueError, match="distance"):
        F.glcm_pairs(ex, 0, 0)
    assert len(F.glcm_pairs(ex, 10**9, 0)["pairs"]) == 0          # far beyond the patch: no pair, no huge work
    with pytest.raises(TypeError, match="angle_deg"):
        F.glcm_pairs(ex, 1, "45")
    with pytest.raises(ValueError, match="angle_deg"):
        F.glcm_pairs(ex, 1, float("nan"))


def test_glcm_offset_matches_skimage_rounding():
    for d in (1, 2, 3):
        for a in ANGLES:
            dr, dc = F.glcm_offset(d, a)
            img = np.zeros((9, 9), np.uint8)
            img[4, 4] = 1
            P = graycomatrix(img, [d], [a], levels=2)[:, :, 0, 0]
            # the one pair (1, 0) starts at the centre pixel: its neighbour is at (4 + dr, 4 + dc)
            img2 = img.copy()
            img2[4 + dr, 4 + dc] = 1
            assert graycomatrix(img2, [d], [a], levels=2)[1, 1, 0, 0] == 1 and P[1, 0] == 1


def test_wavelet_coefficients_equal_pywt():
    img = np.random.default_rng(1).normal(size=(64, 48)).astype(np.float32)
    ours = F.wavelet_coefficients(img, "db2", 2)
    ref = pywt.wavedec2(img, "db2", level=2)
    np.testing.assert_array_equal(ours[0], ref[0])
    assert ours[0].dtype == np.float32
    for a, b in zip(ours[1:], ref[1:]):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="level must be <="):
        F.wavelet_coefficients(np.zeros((28, 28)), "db4", 4)
    with pytest.raises(ValueError, match="wavelet must be"):
        F.wavelet_coefficients(img, "fourier", 1)


def test_parenchyma_box_prefers_lung_and_respects_exclude():
    s = np.zeros((64, 64))
    s[5:25, 5:25] = -800
    s[40:60, 40:60] = -800
    assert F.parenchyma_box(s, (10, 10), stride=1) == (5, 5, 14, 14)
    assert F.parenchyma_box(s, (10, 10), exclude=(0, 0, 30, 30), stride=1) == (40, 40, 49, 49)
    with pytest.raises(ValueError, match="size"):
        F.parenchyma_box(s, (100, 10))
    with pytest.raises(ValueError, match="stride"):
        F.parenchyma_box(s, (10, 10), stride=0)
    with pytest.raises(ValueError, match="2-D"):
        F.parenchyma_box(np.zeros(5), (1, 1))


def test_lung_slice_mask():
    s = np.full((80, 80), 40.0)                   # soft tissue
    s[:4, :] = -1000                              # outside air, touches the border: not lung
    r, c = np.mgrid[:80, :80]
    disc = (r - 40) ** 2 + (c - 25) ** 2 <= 14 ** 2
    s[disc] = -850
    s[40, 25] = 30                                # a vessel inside the lung: filled
    small = (r - 40) ** 2 + (c - 62) ** 2 <= 13 ** 2
    s[small] = -850
    m = F.lung_slice_mask(s, -320)
    assert m.dtype == bool and m[40, 25] and not m[:4].any() and m.sum() == disc.sum() + small.sum()
    assert F.lung_slice_mask(s, -320, min_pixels=550).sum() == disc.sum()     # too small a part is dropped
    assert not F.lung_slice_mask(s, -2000).any()
    with pytest.raises(TypeError, match="threshold"):
        F.lung_slice_mask(s, "low")


def test_ct_texture_regions_sample():
    from medlab import datasets
    from medlab.samples import ct_largest_tumour, ct_texture_regions

    regions = ct_texture_regions()
    ct = datasets.load_lung_ct()
    assert [r.slice_index for r in regions] == [b.slice_index for b in ct.boxes]
    for r in regions:
        assert not r.hu.flags.writeable
        np.testing.assert_array_equal(r.hu, ct.array[r.slice_index])
        (a0, b0, a1, b1), (c0, d0, c1, d1) = r.tumour, r.lung
        assert (a1 - a0, b1 - b0) == (c1 - c0, d1 - d0)                  # the same size
        assert a1 < c0 or c1 < a0 or b1 < d0 or d1 < b0                  # no overlap
    big = ct_largest_tumour()
    r0, c0, r1, c1 = big.lung
    assert np.mean(big.hu[r0:r1 + 1, c0:c1 + 1] < -600) > 0.7            # the box is mostly aerated lung
    assert datasets.ct_largest_tumour is ct_largest_tumour               # re-exported by medlab.datasets


def test_progress_bar_widget_stays_open_after_extraction(monkeypatch):
    """A notebook progress bar that closes itself closes its widget model; Voilà renders outputs after the cell
    ran and then shows "Error displaying widget: model not found" where the bar was (05 §6 in app mode)."""
    import tqdm.auto
    import tqdm.notebook
    from ipywidgets import Widget

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)      # what tqdm.auto picks inside a kernel
    created: list = []
    monkeypatch.setattr(Widget, "_widget_construction_callback", created.append)
    x = np.random.default_rng(0).integers(0, 256, (3, 16, 16), dtype=np.uint8)
    F.extract_features(x, progress=True)
    assert created, "the progress bar made no widget"
    closed = [type(w).__name__ for w in created if w.comm is None]
    assert not closed, f"widgets closed after use: {closed}"
