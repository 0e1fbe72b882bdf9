"""Tests for medlab.preprocess: agreement with scikit-image / SimpleITK / scipy, properties,
the lung mask on the embedded CT, tumour growing, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import directed_hausdorff
from skimage import exposure, filters, metrics

from medlab import preprocess as pp
from medlab.datasets import load_lung_ct

SETTINGS = settings(max_examples=40, deadline=None)


@pytest.fixture(scope="module")
def ct():
    return load_lung_ct()


@pytest.fixture(scope="module")
def seg(ct):
    return pp.lung_mask(np.asarray(ct.array), ct.spacing)


int_images = arrays(np.int16, st.tuples(st.integers(2, 12), st.integers(2, 12)),
                    elements=st.integers(-1024, 1500))
float_images = arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(2, 12)),
                      elements=st.floats(-5, 5, allow_nan=False, width=32))


# ------------------------------------------------------------------ enhancement
@SETTINGS
@given(st.one_of(int_images, float_images))
def test_equalize_hist_matches_skimage(img):
    assume(img.min() < img.max())
    np.testing.assert_allclose(pp.equalize_hist(img), exposure.equalize_hist(img), atol=1e-12)


@SETTINGS
@given(int_images)
def test_histogram_and_cdf_match_skimage(img):
    counts, centres = pp.histogram(img)
    sk_counts, sk_centres = exposure.histogram(img)
    np.testing.assert_array_equal(counts, sk_counts)
    np.testing.assert_array_equal(centres, sk_centres)
    c, _ = pp.cdf(img)
    sk_c, _ = exposure.cumulative_distribution(img)
    np.testing.assert_allclose(c, sk_c)
    assert c[-1] == 1.0 and np.all(np.diff(c) >= 0)


def test_equalize_flattens_ct_histogram(ct):
    s = np.asarray(ct.array[15])
    eq = pp.equalize_hist(s)
    assert eq.min() >= 0 and eq.max() == 1.0
    # equalised values are uniform: the fraction below q is about q
    for q in (0.25, 0.5, 0.75):
        assert abs((eq <= q).mean() - q) < 0.1
    # monotone mapping: the order of grey values is kept
    order = np.argsort(s.ravel(), kind="stable")
    assert np.all(np.diff(eq.ravel()[order]) >= 0)


def test_clahe_stretch_gamma(ct):
    s = np.asarray(ct.array[15])
    c = pp.clahe(s, clip_limit=0.02, in_range=(-1000, 400))
    assert c.shape == s.shape and 0 <= c.min() and c.max() <= 1
    ref = exposure.equalize_adapthist(np.clip((s + 1000) / 1400.0, 0, 1), clip_limit=0.02)
    np.testing.assert_allclose(c, ref)
    cs = pp.contrast_stretch(s, 2, 98)
    lo, hi = np.percentile(s, [2, 98])
    np.testing.assert_allclose(cs, exposure.rescale_intensity(s.astype(float), in_range=(lo, hi), out_range=(0, 1)))
    g = pp.gamma_correct(np.linspace(0, 1, 11), 2.0)
    np.testing.assert_allclose(g, exposure.adjust_gamma(np.linspace(0, 1, 11), 2.0))


# ------------------------------------------------------------------ denoising
def test_add_noise_statistics_and_seed():
    clean = np.tile(np.linspace(0, 1, 200), (200, 1))
    g = pp.add_noise(clean, "gaussian", 0.1, seed=3)
    assert abs(np.std(g - clean) - 0.1) < 0.005
    np.testing.assert_array_equal(g, pp.add_noise(clean, "gaussian", 0.1, seed=3))
    assert not np.array_equal(g, pp.add_noise(clean, "gaussian", 0.1, seed=4))
    sp = pp.add_noise(clean, "salt_pepper", 0.2, seed=0)
    changed = sp != clean
    assert abs(changed.mean() - 0.2) < 0.02 and set(np.unique(sp[changed])) <= {0.0, 1.0}
    flat = np.ones((300, 300))
    po = pp.add_noise(np.pad(flat, 1), "poisson", 0.1, seed=0)[1:-1, 1:-1]
    # issue 14 dose model: the brightest value is the most attenuating (p = 4): std of p_hat ~ level e^2
    assert po.std() == pytest.approx(0.1 * np.exp(2) / 4, rel=0.1)
    np.testing.assert_array_equal(pp.add_noise(clean, "poisson", 0.0), clean)


def test_filters_reduce_noise(ct):
    clean = np.asarray(ct.array[15]).astype(np.float64)
    rng_range = float(clean.max() - clean.min())
    noisy_sp = pp.add_noise(clean, "salt_pepper", 0.05, seed=1)
    noisy_g = pp.add_noise(clean, "gaussian", 0.05, seed=1)
    base_sp = pp.psnr(clean, noisy_sp, rng_range)
    base_g = pp.psnr(clean, noisy_g, rng_range)
    # the median removes salt and pepper far better than the Gaussian
    med = pp.psnr(clean, pp.median_filter(noisy_sp, 1), rng_range)
    gau = pp.psnr(clean, pp.gaussian_filter(noisy_sp, 1.0), rng_range)
    assert med > base_sp + 10 and med > gau + 5
    for kind in ("median", "gaussian", "curvature_flow"):
        assert pp.psnr(clean, pp.denoise(noisy_g, kind, 1), rng_range) > base_g
    assert pp.ssim(clean, pp.median_filter(noisy_sp, 1), rng_range) > pp.ssim(clean, noisy_sp, rng_range)


def test_median_is_nonlinear_gaussian_is_linear():
    rng = np.random.default_rng(0)
    a, b = rng.random((16, 16)), rng.random((16, 16))
    np.testing.assert_allclose(pp.gaussian_filter(a + b, 1.0), pp.gaussian_filter(a, 1.0) + pp.gaussian_filter(b, 1.0),
                               atol=1e-5)
    assert np.abs(pp.median_filter(a + b, 1) - (pp.median_filter(a, 1) + pp.median_filter(b, 1))).max() > 0.1


def test_median_matches_scipy():
    from scipy import ndimage as ndi

    img = np.random.default_rng(2).random((20, 25)).astype(np.float32)
    ours = pp.median_filter(img, 1)
    ref = ndi.median_filter(img, size=3, mode="nearest")
    np.testing.assert_allclose(ours[1:-1, 1:-1], ref[1:-1, 1:-1])


@SETTINGS
@given(arrays(np.float64, (8, 9), elements=st.floats(0, 1)), arrays(np.float64, (8, 9), elements=st.floats(0, 1)))
def test_psnr_ssim_match_skimage(a, b):
    assume(np.mean((a - b) ** 2) > 0)  # identical (or subnormally close) images have infinite PSNR
    assert pp.psnr(a, b, 1.0) == pytest.approx(metrics.peak_signal_noise_ratio(a, b, data_range=1.0))
    assert pp.ssim(a, b, 1.0) == pytest.approx(metrics.structural_similarity(a, b, data_range=1.0))


# ------------------------------------------------------------------ thresholding
def _sitk_otsu(img: np.ndarray, nbins: int) -> float:
    f = sitk.OtsuThresholdImageFilter()
    f.SetNumberOfHistogramBins(nbins)
    f.SetInsideValue(0)
    f.SetOutsideValue(1)
    f.Execute(sitk.GetImageFromArray(img))
    return f.GetThreshold()


@SETTINGS
@given(st.one_of(int_images, float_images))
def test_otsu_matches_skimage(img):
    assume(img.min() < img.max())
    t = pp.otsu_threshold(img)
    t_sk = filters.threshold_otsu(img)
    if t != t_sk:  # only exact ties in the between-class variance may pick another threshold
        centres, var = pp.between_class_variance(img)
        i, j = np.searchsorted(centres, [t, t_sk])
        assert var[i] == pytest.approx(var[j], rel=1e-9)
    else:
        assert t == t_sk


@SETTINGS
@given(st.floats(-500, 500), st.floats(200, 800), st.floats(10, 60), st.integers(0, 1000))
def test_otsu_agrees_with_simpleitk_on_bimodal(mu, gap, sd, seed):
    rng = np.random.default_rng(seed)
    img = np.concatenate([rng.normal(mu, sd, 3000), rng.normal(mu + gap, sd, 2000)]).reshape(50, 100)
    t = pp.otsu_threshold(img, nbins=256)
    bin_width = (img.max() - img.min()) / 256
    assert abs(t - _sitk_otsu(img, 256)) <= 2 * bin_width
    assert mu < t < mu + gap


def test_otsu_on_ct_agrees(ct):
    s = np.asarray(ct.array[15])
    t = pp.otsu_threshold(s)
    assert t == filters.threshold_otsu(s)
    assert abs(t - _sitk_otsu(s, 1024)) <= (s.max() - s.min()) / 1024
    assert -700 < t < -200  # between lung air and soft tissue


def test_threshold_matches_simpleitk(ct):
    s = np.asarray(ct.array[15])
    ref = sitk.GetArrayFromImage(sitk.BinaryThreshold(sitk.GetImageFromArray(s), -1000, -400, 1, 0)).astype(bool)
    np.testing.assert_array_equal(pp.threshold(s, -1000, -400), ref)


# ------------------------------------------------------------------ region growing
@st.composite
def grow_cases(draw):
    ndim = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.integers(2, 9 if ndim == 2 else 5)) for _ in range(ndim))
    img = draw(arrays(np.int16, shape, elements=st.integers(0, 9)))
    seed = tuple(draw(st.integers(0, n - 1)) for n in shape)
    lo = draw(st.integers(0, 9))
    hi = draw(st.integers(lo, 9))
    conn = draw(st.sampled_from(["face", "full"]))
    return img, seed, lo, hi, conn


@settings(max_examples=60, deadline=None)
@given(grow_cases())
def test_region_grow_equals_simpleitk_connected_threshold(case):
    img, seed, lo, hi, conn = case
    ref = pp.connected_threshold_sitk(img, seed, lo, hi, conn)
    np.testing.assert_array_equal(pp.region_grow(img, seed, lo, hi, conn, method="label"), ref)
    np.testing.assert_array_equal(pp.region_grow(img, seed, lo, hi, conn, method="queue"), ref)


@settings(max_examples=50, deadline=None)
@given(grow_cases(), st.integers(0, 4), st.integers(0, 4))
def test_region_grow_monotone_in_range(case, widen_lo, widen_hi):
    img, seed, lo, hi, conn = case
    small = pp.region_grow(img, seed, lo, hi, conn)
    big = pp.region_grow(img, seed, lo - widen_lo, hi + widen_hi, conn)
    assert np.all(big[small])  # small is a subset of big
    assert big.sum() >= small.sum()
    # full connectivity reaches at least what face connectivity reaches
    assert np.all(pp.region_grow(img, seed, lo, hi, "full")[pp.region_grow(img, seed, lo, hi, "face")])


def test_region_grow_on_ct_matches_simpleitk_3d(ct):
    a = np.asarray(ct.array)
    seed = (15, 250, 120)  # inside the right lung on the image's left
    assert a[seed] < -700
    ours = pp.region_grow(a, seed, -1024, -500)
    ref = pp.connected_threshold_sitk(a, seed, -1024, -500)
    np.testing.assert_array_equal(ours, ref)
    assert ours.sum() > 100_000


def test_confidence_connected():
    rng = np.random.default_rng(0)
    img = rng.normal(0, 5, (40, 40))
    img[10:30, 10:30] += 100
    m = pp.confidence_connected(img, (20, 20), multiplier=3.0)
    assert pp.dice(m, np.pad(np.ones((20, 20), bool), 10)) > 0.95


# ------------------------------------------------------------------ morphology
def test_morphology_basics():
    m = np.zeros((20, 20), bool)
    m[5:15, 5:15] = True
    m[9, 9] = False          # a hole
    m[0, 0] = True           # a speck
    assert pp.fill_holes(m)[9, 9] and not m[9, 9]
    assert not pp.binary_open(m, 1)[0, 0]
    assert pp.binary_close(m, 1)[9, 9]
    lc = pp.largest_components(m, 1)
    assert not lc[0, 0] and lc[5, 5]
    assert pp.largest_components(m, 2).sum() == m.sum()
    # close does not eat a region touching the border
    edge = np.zeros((10, 10), bool)
    edge[:, :4] = True
    np.testing.assert_array_equal(pp.binary_close(edge, 2), edge)


# ------------------------------------------------------------------ lung mask on the real CT
def test_lung_mask_sanity(ct, seg):
    from scipy import ndimage as ndi

    a = np.asarray(ct.array)
    labels, n = ndi.label(seg.mask)
    sizes = np.sort(np.bincount(labels.ravel())[1:])[::-1] * seg.voxel_volume_ml
    assert n == 2, f"expected the two lungs as two components, got {n}"
    assert sizes[1] > 500 and sizes[0] < 3 * sizes[1]
    assert 1500 < seg.volume_ml < 4500  # 24 cm of chest, adult lungs
    assert seg.component_volumes_ml == pytest.approx(list(sizes))
    assert not (seg.mask & ~seg.body).any()  # inside the body
    assert np.median(a[seg.mask]) < -700  # mostly air-filled tissue
    # the lungs sit on either side of the body's midline
    cols = np.nonzero(seg.body.any(axis=(0, 1)))[0]
    mid = (cols[0] + cols[-1]) / 2
    cx = sorted(ndi.center_of_mass(seg.mask, labels, [1, 2]), key=lambda c: c[2])
    assert cx[0][2] < mid < cx[1][2]
    # steps are returned in order and each one is a boolean volume
    names = list(seg.steps)
    assert len(names) == 4 and names[0].startswith("1 air") and names[-1].startswith("4 ")
    assert all(v.shape == a.shape and v.dtype == bool for v in seg.steps.values())
    # air inside the body is a subset of all air
    assert not (seg.steps[names[1]] & ~seg.steps[names[0]]).any()


def test_tumour_growth_vs_box(ct):
    a = np.asarray(ct.array)
    box = ct.mask().astype(bool)
    free = pp.grow_from_box(a, box, -300, 200)
    assert free.dice < 0.1  # the tumour touches the mediastinum: unrestricted growing leaks
    held = pp.grow_from_box(a, box, -300, 200, roi_margin=0)
    assert held.inside_box == 1.0 and 0.6 < held.dice < 1.0
    assert held.region[held.seed]
    k = ct.boxes[0].slice_index  # an isolated nodule: 2-D growing works without a barrier
    one = pp.grow_from_box(a[k], box[k], -300, 200)
    assert one.inside_box > 0.9 and one.dice > 0.6


# ------------------------------------------------------------------ metrics
@SETTINGS
@given(arrays(bool, (6, 7)), arrays(bool, (6, 7)))
def test_dice_iou_relation(a, b):
    d, j = pp.dice(a, b), pp.iou(a, b)
    assert 0 <= j <= d <= 1
    assert d == pytest.approx(2 * j / (1 + j))
    assert pp.dice(a, a) == 1.0


@SETTINGS
@given(arrays(bool, (6, 7, 5)), arrays(bool, (6, 7, 5)),
       st.tuples(st.floats(0.5, 3), st.floats(0.5, 3), st.floats(0.5, 3)))
def test_hausdorff_matches_simpleitk_and_scipy(a, b, spacing):
    assume(a.any() and b.any())
    ours = pp.hausdorff(a, b, spacing)
    pa, pb = np.argwhere(a) * spacing, np.argwhere(b) * spacing
    ref_scipy = max(directed_hausdorff(pa, pb)[0], directed_hausdorff(pb, pa)[0])
    assert ours == pytest.approx(ref_scipy, rel=1e-9)
    ia, ib = sitk.GetImageFromArray(a.astype(np.uint8)), sitk.GetImageFromArray(b.astype(np.uint8))
    for im in (ia, ib):
        im.SetSpacing(tuple(reversed(spacing)))
    f = sitk.HausdorffDistanceImageFilter()
    f.Execute(ia, ib)
    assert ours == pytest.approx(f.GetHausdorffDistance(), rel=1e-6)


# ------------------------------------------------------------------ bad input
def test_bad_input():
    img = np.zeros((5, 5))
    with pytest.raises(TypeError, match="image must be a numpy array"):
        pp.equalize_hist([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="image must have 2 or 3 dimensions"):
        pp.equalize_hist(np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        pp.gaussian_filter(np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="image is empty"):
        pp.median_filter(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="kind must be one of"):
        pp.add_noise(img, "speckle")
    with pytest.raises(ValueError, match="level must be >= 0"):
        pp.add_noise(img, "gaussian", -0.1)
    with pytest.raises(ValueError, match="level must be a fraction"):
        pp.add_noise(img, "salt_pepper", 1.5)
    with pytest.raises(TypeError, match="seed must be an int"):
        pp.add_noise(img, "gaussian", 0.1, seed=0.5)
    with pytest.raises(ValueError, match="radius must be >= 0"):
        pp.median_filter(img, -1)
    with pytest.raises(TypeError, match="radius must be an int"):
        pp.median_filter(img, 1.5)
    with pytest.raises(ValueError, match="kind must be one of"):
        pp.denoise(img, "bilateral")
    with pytest.raises(ValueError, match="single value"):
        pp.otsu_threshold(img)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        pp.threshold(img, 5, 1)
    with pytest.raises(ValueError, match="give lower and/or upper"):
        pp.threshold(img)
    with pytest.raises(ValueError, match="seed .* is outside the image"):
        pp.region_grow(img, (5, 0), 0, 1)
    with pytest.raises(ValueError, match="seed must be an index tuple with 2 entries"):
        pp.region_grow(img, (1, 1, 1), 0, 1)
    with pytest.raises(ValueError, match="connectivity must be one of"):
        pp.region_grow(img, (1, 1), 0, 1, connectivity=26)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        pp.region_grow(img, (1, 1), 3, 1)
    with pytest.raises(ValueError, match="method must be"):
        pp.region_grow(img, (1, 1), 0, 1, method="bfs")
    with pytest.raises(ValueError, match="b shape"):
        pp.dice(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="non-empty masks"):
        pp.hausdorff(np.zeros((3, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="test shape"):
        pp.psnr(img, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="at least 7 pixels"):
        pp.ssim(img, img + 1)
    with pytest.raises(ValueError, match="clip_limit must be in"):
        pp.clahe(img + np.eye(5), clip_limit=2)
    with pytest.raises(ValueError, match="image must have 2 dimensions"):
        pp.clahe(np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match="p_high must be > p_low"):
        pp.contrast_stretch(img, 50, 10)
    with pytest.raises(ValueError, match="in_range must have high > low"):
        pp.gamma_correct(img, 1.0, in_range=(5, 1))
    with pytest.raises(ValueError, match="hu must have 3 dimensions"):
        pp.lung_mask(img)
    with pytest.raises(ValueError, match="spacing must be three numbers"):
        pp.lung_mask(np.zeros((2, 5, 5)), spacing=(1, 1))
    with pytest.raises(ValueError, match="air_hu must be between"):
        pp.lung_mask(np.zeros((2, 5, 5)), air_hu=100)
    with pytest.raises(ValueError, match="box_mask is empty"):
        pp.grow_from_box(img, np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="no voxel inside the box"):
        pp.grow_from_box(img, np.ones((5, 5), bool), lower=10, upper=20)


def test_lung_mask_on_a_phantom():
    """Two air-filled 'lungs' in a soft-tissue 'body': both found, the air outside dropped."""
    hu = np.full((6, 60, 80), -1000, dtype=np.int16)
    hu[:, 5:55, 5:75] = 40
    hu[:, 15:45, 12:35] = -850
    hu[:, 15:45, 45:68] = -850
    hu[:, 30, 20] = 60  # a vessel inside a lung
    seg = pp.lung_mask(hu, spacing=(2.0, 2.0, 5.0), min_lung_ml=1.0)
    assert len(seg.component_volumes_ml) == 2
    assert seg.mask[:, 30, 20].all()  # the vessel is filled
    assert not seg.mask[:, 0, 0].any()


def test_accepts_simpleitk_images_including_temporaries(ct):
    """A SimpleITK image is copied to numpy, so a temporary image cannot leave a dangling view."""
    plane = np.asarray(ct.array[15])
    assert pp.otsu_threshold(sitk.GetImageFromArray(plane)) == pp.otsu_threshold(plane)
    eq = pp.equalize_hist(sitk.GetImageFromArray(plane))
    import gc

    gc.collect()
    np.testing.assert_array_equal(eq, pp.equalize_hist(plane))
    m = pp.fill_holes(sitk.GetImageFromArray((plane < -320).astype(np.uint8)))
    np.testing.assert_array_equal(m, pp.fill_holes(plane < -320))


# ------------------------------------------------------------------ review fixes
@pytest.mark.parametrize("sigma", [27.0, 40.0, 100.0])
def test_gaussian_filter_large_sigma_is_finite(sigma):
    # SimpleITK DiscreteGaussian returns all-NaN for variance >= 27**2
    rng = np.random.default_rng(0)
    img = rng.random((64, 64)).astype(np.float32)
    for out in (pp.gaussian_filter(img, sigma), pp.denoise(img, "gaussian", int(sigma))):
        assert np.isfinite(out).all()
        assert out.dtype == np.float32
        assert abs(float(out.mean()) - float(img.mean())) < 0.05
        assert out.std() < img.std()
    const = pp.gaussian_filter(np.full((20, 20), 3.0), sigma)
    np.testing.assert_allclose(const, 3.0, atol=1e-5)


def test_grow_from_box_with_empty_box_and_explicit_seed():
    img = np.zeros((6, 6))
    with pytest.raises(ValueError, match="box_mask is empty"):
        pp.grow_from_box(img, np.zeros((6, 6), bool), seed=(0, 0))
    with pytest.raises(ValueError, match="box_mask is empty"):
        pp.grow_from_box(img, np.zeros((6, 6), bool))


def test_hausdorff_spacing_orders_and_validation():
    rng = np.random.default_rng(2)
    a, b = rng.random((4, 6, 5)) > 0.7, rng.random((4, 6, 5)) > 0.7
    sp_xyz = (0.6465, 0.7, 8.0)                       # SimpleITK order, e.g. ct.spacing
    ref = pp.hausdorff(a, b, spacing=sp_xyz[::-1])     # `spacing` keeps numpy order (z, y, x)
    assert pp.hausdorff(a, b, spacing_xyz=sp_xyz) == ref
    ia, ib = (sitk.GetImageFromArray(m.astype(np.uint8)) for m in (a, b))
    ia.SetSpacing(sp_xyz)
    ib.SetSpacing(sp_xyz)
    f = sitk.HausdorffDistanceImageFilter()
    f.Execute(ia, ib)
    assert pp.hausdorff(a, b, spacing_xyz=sp_xyz) == pytest.approx(f.GetHausdorffDistance(), rel=1e-6)
    a2, b2 = a[0], b[0]
    for bad in ((-1, 1), (0, 1), (np.nan, 1), (np.inf, 1)):
        with pytest.raises(ValueError, match="spacing must be .*positive"):
            pp.hausdorff(a2, b2, spacing=bad)
        with pytest.raises(ValueError, match="spacing_xyz must be .*positive"):
            pp.hausdorff(a2, b2, spacing_xyz=bad)
    with pytest.raises(TypeError, match="spacing_xyz must hold numbers"):
        pp.hausdorff(a2, b2, spacing_xyz=("a", 1))
    with pytest.raises(ValueError, match="spacing_xyz must have 2 entries"):
        pp.hausdorff(a2, b2, spacing_xyz=(1, 1, 1))
    with pytest.raises(ValueError, match="give spacing .*or spacing_xyz.*not both"):
        pp.hausdorff(a2, b2, spacing=(1, 1), spacing_xyz=(1, 1))


def test_lung_mask_spacing_errors_name_the_argument():
    hu = np.zeros((2, 5, 5))
    with pytest.raises(TypeError, match="spacing must hold numbers"):
        pp.lung_mask(hu, spacing=("a", 1, 1))
    with pytest.raises(ValueError, match="spacing must be .*positive"):
        pp.lung_mask(hu, spacing=(-1, 1, 1))
    with pytest.raises(ValueError, match="spacing must be .*positive"):
        pp.lung_mask(hu, spacing=(np.nan, 1, 1))


def test_integer_images_with_a_huge_range_are_rejected_not_allocated():
    big = np.array([0, 10**12])  # one bin per integer would need 7.3 TiB
    for fn in (pp.histogram, pp.cdf, pp.equalize_hist, pp.otsu_threshold, pp.between_class_variance):
        with pytest.raises(ValueError, match=r"image .*integer values span .* use a float image"):
            fn(big if fn is not pp.equalize_hist else big.reshape(1, 2))
    # the float version of the same image works with nbins bins
    assert pp.otsu_threshold(big.astype(np.float64), nbins=16) < 10**12
    # the largest allowed span: 2**16 distinct integer values (e.g. full uint16 range)
    full = np.array([0, 65535], dtype=np.uint16)
    assert pp.histogram(full)[0].size == 65536


def test_unclear_errors_now_name_the_argument():
    img = np.zeros((8, 8))
    img[2:5, 2:5] = 10
    for fn in (pp.region_grow, pp.connected_threshold_sitk):
        with pytest.raises(TypeError, match="lower must be a number"):
            fn(img, (3, 3), "a", 20)
        with pytest.raises(TypeError, match="upper must be a number"):
            fn(img, (3, 3), 0, None)
        with pytest.raises(ValueError, match="lower must not be NaN"):
            fn(img, (3, 3), np.nan, 20)
    with pytest.raises(TypeError, match="lower must be a number"):
        pp.threshold(img, lower="5")
    with pytest.raises(TypeError, match="upper must be a number"):
        pp.grow_from_box(img, img > 0, upper="a")
    # Poisson noise with a tiny level: 1/level^2 photons overflow numpy's sampler
    with pytest.raises(ValueError, match=r"level must be in \[1e-9, 1\] for poisson"):
        pp.add_noise(img, "poisson", 1e-10)
    assert np.isfinite(pp.add_noise(img, "poisson", 1e-9)).all()
    # constant reference and no data_range: say so instead of "data_range must be > 0, got 0.0"
    const = np.ones((8, 8))
    for fn in (pp.psnr, pp.ssim):
        with pytest.raises(ValueError, match="reference is constant .* pass data_range"):
            fn(const, const + np.eye(8))
        with pytest.raises(ValueError, match="data_range must be > 0, got 0"):
            fn(const, const, data_range=0)
    assert pp.psnr(const, const + 0.1, data_range=1.0) == pytest.approx(20.0)


@pytest.mark.parametrize("fn", [pp.lung_mask, pp.grow_from_box, pp.between_class_variance,
                                pp.connected_threshold_sitk])
def test_public_functions_have_a_runnable_example(fn):
    assert ">>>" in (fn.__doc__ or ""), f"{fn.__name__} has no doctest example"


def test_add_noise_example_shows_the_noise_level():
    # the example must demonstrate what `level` means, not a tautology
    assert "std" in pp.add_noise.__doc__.split(">>>", 1)[1]


# ------------------------------------------------------------------ moved from the 04 widgets: crop, sizes
def test_crop_center():
    a = np.arange(100).reshape(10, 10)
    crop, (r0, c0) = pp.crop_center(a, 4, center=(0, 9))   # shifted to stay inside the image
    assert crop.shape == (4, 4) and (r0, c0) == (0, 6)
    np.testing.assert_array_equal(crop, a[0:4, 6:10])
    full, corner = pp.crop_center(np.zeros((5, 5)), 8)
    assert full.shape == (5, 5) and corner == (0, 0)
    mid, corner = pp.crop_center(np.zeros((512, 512, 3)), 256)
    assert mid.shape == (256, 256, 3) and corner == (128, 128)
    with pytest.raises(ValueError, match="center .* is outside the image"):
        pp.crop_center(a, 4, center=(10, 0))
    with pytest.raises(TypeError, match="center must hold integer"):
        pp.crop_center(a, 4, center=(1.5, 2))
    with pytest.raises(ValueError, match="size must be > 0"):
        pp.crop_center(a, 0)
    with pytest.raises(TypeError, match="image must be a 2-D"):
        pp.crop_center([[1, 2]], 1)


def test_region_size_equals_simpleitk_label_statistics():
    from medlab.datasets import load_lung_ct

    ct = load_lung_ct()
    held = pp.grow_from_box(np.array(ct.array), ct.mask(), -300, 200, roi_margin=0).region
    s = pp.region_size(held, ct.spacing)
    img = sitk.GetImageFromArray(held.astype(np.uint8))
    img.CopyInformation(ct.image)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(img)
    assert s.voxels == stats.GetNumberOfPixels(1)
    assert s.volume_ml == pytest.approx(stats.GetPhysicalSize(1) / 1000)
    zs = np.flatnonzero(held.any(axis=(1, 2)))
    assert s.slices == (zs[0], zs[-1]) and s.area_mm2 is None
    one = pp.region_size(held[15], ct.spacing)   # one slice: area and slab volume
    assert one.area_mm2 == pytest.approx(held[15].sum() * ct.spacing[0] * ct.spacing[1])
    assert one.volume_ml == pytest.approx(one.area_mm2 * ct.spacing[2] / 1000) and one.slices is None
    assert pp.region_size(np.zeros((2, 3, 3), bool)) == pp.RegionSize(0, 0.0, None, None)
    with pytest.raises(ValueError, match="spacing must have 3 entries"):
        pp.region_size(held, (1.0, 1.0))
    with pytest.raises(ValueError, match="mask must have 2 or 3 dimensions"):
        pp.region_size(np.zeros(4, bool))


def test_normalise():
    np.testing.assert_array_equal(pp.normalise(np.array([-2000, -1000, 400, 3000]), (-1000, 400)), [0, 0, 1, 1])
    np.testing.assert_array_equal(pp.normalise(np.full((2, 2), 7)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="in_range must have high > low"):
        pp.normalise(np.zeros(3), (1, 1))


# --------------------------------------------------------------------------- issue 14: surface distances
def _brute_surface_distances(a, b, spacing):
    """Reference: SimpleITK BinaryContour surfaces, all pairwise distances (scipy cdist)."""
    import SimpleITK as sitk
    from scipy.spatial.distance import cdist

    def contour(m):
        img = sitk.GetImageFromArray(m.astype(np.uint8))
        return sitk.GetArrayFromImage(sitk.BinaryContour(img, fullyConnected=False)).astype(bool)

    pa = np.argwhere(contour(a)) * np.asarray(spacing)
    pb = np.argwhere(contour(b)) * np.asarray(spacing)
    d = cdist(pa, pb)
    return d.min(1), d.min(0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_surface_distances_hd95_assd_match_brute_force(seed):
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    a = ndi.binary_opening(rng.random((6, 30, 30)) > 0.35, iterations=1)
    b = ndi.binary_opening(rng.random((6, 30, 30)) > 0.35, iterations=1)
    spacing = (3.0, 0.7, 0.8)                       # numpy order z, y, x
    d_ab, d_ba = pp.surface_distances(a, b, spacing)
    r_ab, r_ba = _brute_surface_distances(a, b, spacing)
    np.testing.assert_allclose(np.sort(d_ab), np.sort(r_ab), atol=1e-9)
    np.testing.assert_allclose(np.sort(d_ba), np.sort(r_ba), atol=1e-9)
    pooled = np.concatenate([r_ab, r_ba])
    assert pp.hd95(a, b, spacing) == pytest.approx(np.percentile(pooled, 95))
    assert pp.assd(a, b, spacing) == pytest.approx(pooled.mean())
    assert pp.assd(a, b, spacing_xyz=spacing[::-1]) == pytest.approx(pooled.mean())
    assert pp.hd95(a, b, spacing) <= pp.hausdorff(a, b, spacing) + 1e-9


def test_hd95_assd_identical_and_stray_voxel():
    a = np.zeros((20, 20), bool)
    a[5:15, 5:15] = True
    assert pp.hd95(a, a) == 0.0 and pp.assd(a, a) == 0.0
    b = a.copy()
    b[0, 0] = True
    assert pp.hausdorff(a, b) == pytest.approx(np.hypot(5, 5))
    assert pp.hd95(a, b) == 0.0 and 0 < pp.assd(a, b) < 0.3
    with pytest.raises(ValueError, match="non-empty"):
        pp.hd95(a, np.zeros_like(a))


# --------------------------------------------------------------------------- issue 14: noise physics
def test_poisson_projection_noise_follows_the_dose_model():
    img = np.zeros((128, 128))
    img[:, 64:] = 1.0                               # open beam | p = attenuation
    level, att = 0.02, 4.0
    noisy = pp.add_noise(img, "poisson", level, seed=0, attenuation=att)
    dark, bright = noisy[:, :64].std(), noisy[:, 64:].std()
    # p_hat std ~ exp(p/2)/sqrt(N0); output = p_hat / att * R
    assert dark == pytest.approx(level / att, rel=0.05)       # the open beam is noisy too (was exactly 0)
    assert bright / dark == pytest.approx(np.exp(att / 2), rel=0.08)   # attenuating regions are noisiest
    assert abs(noisy[:, 64:].mean() - 1.0) < 0.01               # unbiased at this dose


def test_ct_quantum_noise_dose_and_independence_from_own_hu():
    yy, xx = np.mgrid[:96, :96]
    hu = np.full((96, 96), -1000.0)
    hu[(yy - 48) ** 2 + (xx - 48) ** 2 < 40 ** 2] = 0.0
    hu[(yy - 48) ** 2 + (xx - 33) ** 2 < 6 ** 2] = -700.0     # a "lung" insert
    hu[(yy - 48) ** 2 + (xx - 63) ** 2 < 6 ** 2] = 700.0      # a "bone" insert, mirror position
    noisy, ref = pp.ct_quantum_noise(hu, 2e4, pixel_mm=2.0, seed=0)
    noisy4, ref4 = pp.ct_quantum_noise(hu, 8e4, pixel_mm=2.0, seed=1)
    np.testing.assert_allclose(ref, ref4)                      # the reference has no noise
    d, d4 = noisy - ref, noisy4 - ref4
    inner = (yy - 48) ** 2 + (xx - 48) ** 2 < 30 ** 2
    assert d[inner].std() / d4[inner].std() == pytest.approx(2.0, rel=0.1)   # 4x dose -> half the noise
    lung = (yy - 48) ** 2 + (xx - 33) ** 2 < 4 ** 2
    bone = (yy - 48) ** 2 + (xx - 63) ** 2 < 4 ** 2
    # the voxel's own HU does not set its noise (the old model gave air/lung almost none)
    assert d[lung].std() == pytest.approx(d[bone].std(), rel=0.35)
    assert abs(np.median(ref[inner & ~lung & ~bone])) < 40      # FBP of water stays near 0 HU
    assert pp.ct_quantum_noise(hu, 2e4, pixel_mm=2.0, seed=0)[0].tolist() == noisy.tolist()
