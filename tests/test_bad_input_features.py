"""Bad input for medlab.features and medlab.classical (unit 05), organised by class as in issue 14.

Each class is checked across the public functions of both modules: a bad input gets a clear TypeError or
ValueError naming the argument, never a damaged file, a silently wrong number, a huge allocation or a hang.
"""
from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import pytest

from medlab import classical as C
from medlab import datasets
from medlab import features as F

GRID = [{"kernel": "linear", "C": 1.0}]


def toy(seed=0, n=60, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)


@pytest.fixture(scope="module")
def result():
    X, y = toy(0, 90, 2)
    return C.svm_baseline(X[:50], y[:50], X[50:70], y[50:70], X[70:], y[70:], grid=GRID, importance_repeats=0)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ============================================================================ data loss
def test_save_baseline_never_writes_into_the_data_folder(result):
    data = datasets.data_dir()
    target = data / "pneumoniamnist.npz"
    before = (target.stat().st_size, _sha(target))
    listing = sorted(p.name for p in data.iterdir())
    for path in (data / "pneumoniamnist", data / "pneumoniamnist.npz", data / "pneumoniamnist.json",
                 data / "new_results", data / "sub" / "run"):
        with pytest.raises(ValueError, match="data folder"):
            C.save_baseline(result, path)
    assert (target.stat().st_size, _sha(target)) == before
    assert sorted(p.name for p in data.iterdir()) == listing      # nothing created either


def test_save_baseline_never_overwrites_a_copy_of_a_data_file(result, tmp_path):
    copy = tmp_path / "pneumoniamnist.npz"
    copy.write_bytes((datasets.data_dir() / "pneumoniamnist.npz").read_bytes())
    before = _sha(copy)
    with pytest.raises(ValueError, match="embedded data file"):
        C.save_baseline(result, tmp_path / "pneumoniamnist")
    assert _sha(copy) == before
    assert not (tmp_path / "pneumoniamnist.json").exists()     # checked before anything was written


def test_save_baseline_refuses_a_folder_and_bad_paths(result, tmp_path):
    (tmp_path / "run.json").mkdir()
    with pytest.raises(ValueError, match="existing folder"):
        C.save_baseline(result, tmp_path / "run")
    for bad in (None, 3, b"x", ["a"]):
        with pytest.raises(TypeError, match="path must be a file path"):
            C.save_baseline(result, bad)
    with pytest.raises(ValueError, match="non-empty"):
        C.save_baseline(result, "")
    with pytest.raises(TypeError, match="dataset must be a string"):
        C.save_baseline(result, tmp_path / "a", dataset=None)
    with pytest.raises(TypeError, match="extra must be None or a dict"):
        C.save_baseline(result, tmp_path / "a", extra=[1])
    with pytest.raises(ValueError, match="cannot be written as JSON"):
        C.save_baseline(result, tmp_path / "b", extra={"x": object()})
    assert not (tmp_path / "b.json").exists() and not (tmp_path / "b.npz").exists()


def test_save_baseline_writes_exactly_the_two_files(result, tmp_path):
    j, n = C.save_baseline(result, tmp_path / "x" / "run.npz")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["run.json", "run.npz"]
    assert j.name == "run.json" and n.name == "run.npz"


# ============================================================================ silently wrong numbers
@pytest.mark.parametrize("distance", [4, 5, 100])
def test_glcm_distance_not_smaller_than_the_image_is_refused(distance):
    img = np.arange(16).reshape(4, 4) % 4
    with pytest.raises(ValueError, match="no pixel pair"):
        F.glcm(img, [distance], [0], levels=4)
    with pytest.raises(ValueError, match="no pixel pair"):
        F.image_features(img, levels=4, distances=[distance])
    with pytest.raises(ValueError, match="no pixel pair"):
        F.extract_features(np.stack([img, img]).astype(np.uint8), levels=4, distances=[distance], progress=False,
                           wavelet_level=1)
    with pytest.raises(ValueError, match="no pixel pair"):
        F.extract_features([img, img], levels=4, distances=[distance], progress=False, wavelet_level=1)


def test_one_pixel_or_one_row_mask_gives_no_texture():
    img = np.random.default_rng(0).integers(0, 8, (16, 16))
    one = np.zeros((16, 16), bool)
    one[5, 5] = True
    with pytest.raises(ValueError, match="no pixel pair.*mask"):
        F.glcm(img, [1], [0], levels=8, mask=one)
    with pytest.raises(ValueError, match="no pixel pair.*mask"):
        F.image_features(img, one, levels=8)
    row = np.zeros((16, 16), bool)
    row[5, 2:12] = True                          # pairs at 0 degrees, none at 90
    F.glcm(img, [1], [0], levels=8, mask=row)
    with pytest.raises(ValueError, match="no pixel pair"):
        F.glcm(img, [1], [np.pi / 2], levels=8, mask=row)


def test_all_zero_glcm_has_no_features():
    with pytest.raises(ValueError, match="all zeros"):
        F.glcm_features(np.zeros((4, 4)))
    P = np.zeros((4, 4, 1, 2))
    P[0, 0, 0, 0] = 1
    with pytest.raises(ValueError, match="GLCM 1 is all zeros"):
        F.glcm_features(P)


def test_subpixel_distance_rounding_to_zero_offset_is_refused():
    img = np.arange(16).reshape(4, 4) % 4
    with pytest.raises(ValueError, match="zero pixel offset"):
        F.glcm(img, [0.3], [0], levels=4)
    with pytest.raises(ValueError, match="zero pixel offset"):
        F.glcm_offset(0.4, 0.0)


def test_elongation_and_flatness_are_at_least_one():
    line = np.zeros((10, 10), bool)
    line[5, 2:8] = True
    assert F.shape_features(line)["elongation"] == np.inf
    dot = np.zeros((10, 10), bool)
    dot[4, 4] = True
    assert F.shape_features(dot)["elongation"] == 1.0
    plane = np.zeros((5, 10, 10), bool)
    plane[2, 2:8, 2:8] = True
    f = F.shape_features(plane)
    assert f["flatness"] == np.inf and f["elongation"] == pytest.approx(1.0)
    r, c = np.mgrid[:40, :40]
    ellipse = ((r - 20) / 15.0) ** 2 + ((c - 20) / 5.0) ** 2 <= 1
    e = F.shape_features(ellipse)["elongation"]
    assert 2.5 < e < 3.5                          # SimpleITK's value is kept for a normal region


@pytest.mark.parametrize("call", [
    lambda a: F.quantize(a, 8),
    lambda a: F.first_order(a),
    lambda a: F.haar2d(a),
    lambda a: F.wavelet_energies(a, level=1),
    lambda a: F.image_features(a, levels=8, wavelet_level=1),
    lambda a: F.extract_features(a[None], levels=8, wavelet_level=1, progress=False),
    lambda a: F.parenchyma_box(a, (2, 2)),
    lambda a: F.lung_slice_mask(a),
])
def test_nan_images_are_refused(call):
    a = np.random.default_rng(0).normal(size=(8, 8))
    a[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        call(a)


def test_nan_and_inf_parameters_are_refused():
    img = np.random.default_rng(0).normal(size=(8, 8))
    X, y = toy()
    for call in (lambda: F.quantize(img, 8, vmin=np.nan), lambda: F.glcm(img.astype(int) % 2, [np.nan], [0], 2),
                 lambda: F.glcm(np.zeros((4, 4), int), [1], [np.inf], 2),
                 lambda: F.first_order(img, log_base=np.inf), lambda: F.first_order(img, log_base=np.nan),
                 lambda: F.glcm_features(np.full((2, 2), np.nan)),
                 lambda: F.shape_features(img > 0, spacing=(np.nan, 1.0)),
                 lambda: F.parenchyma_box(img, (2, 2), lo=np.nan),
                 lambda: C.make_svm(C=np.nan), lambda: C.make_svm(gamma=np.inf),
                 lambda: C.select_svm(np.where(X > 2, np.nan, X), y, X, y, grid=GRID),
                 lambda: C.diagnostic_metrics([0, 1], [np.nan, 1.0]),
                 lambda: C.diagnostic_metrics([0, 1], [0.2, 0.7], threshold=np.nan),
                 lambda: C.diagnostic_metrics([0, np.nan], [0.2, 0.7])):
        with pytest.raises(ValueError):
            call()


# ============================================================================ memory and time bombs
def test_glcm_levels_bounded_before_any_allocation():
    img = np.zeros((8, 8), np.uint16)
    t = time.perf_counter()
    for call in (lambda: F.glcm(img, [1], [0], levels=65536),
                 lambda: F.glcm_pairs(img, levels=65536),
                 lambda: F.image_features(img, levels=65536),
                 lambda: F.extract_features(img[None], levels=65536, progress=False)):
        with pytest.raises(ValueError, match="levels must be <= 1024"):
            call()
    assert time.perf_counter() - t < 2


def test_glcm_cell_budget_counts_offsets():
    img = np.zeros((8, 8), np.uint16)
    with pytest.raises(ValueError, match="GLCM cells"):
        F.glcm(img, list(range(1, 9)) * 8, [0, 1.0, 2.0, 3.0], levels=1024)   # 128 offsets x 1024**2
    with pytest.raises(ValueError, match="offsets"):
        F.glcm(img, list(range(1, 2000)), [0], levels=4)
    with pytest.raises(ValueError, match="at most 1024"):
        F.glcm_features(np.ones((2048, 2048)))


def test_extract_features_chunks_by_memory_and_gives_the_same_numbers():
    x = np.random.default_rng(1).integers(0, 256, (6, 16, 16)).astype(np.uint8)
    a = F.extract_features(x, levels=32, progress=False, chunk_size=1_000_000)
    b = F.extract_features(x, levels=32, progress=False, chunk_size=1)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-12, err_msg=k)
    with pytest.raises(ValueError, match="chunk_size must be <="):
        F.extract_features(x, progress=False, chunk_size=10**9)


def test_select_svm_huge_C_is_bounded():
    X, y = toy(0, 200, 5)
    with pytest.raises(ValueError, match="C must be <="):
        C.select_svm(X, y, X, y, grid=[{"kernel": "linear", "C": 1e10}])
    with pytest.raises(ValueError, match="C must be <="):
        C.make_svm(C=1e10)
    t = time.process_time()
    best, table = C.select_svm(X, y, X, y, grid=[{"kernel": "linear", "C": 1e8}], max_iter=2000)
    assert time.process_time() - t < 20
    assert table[0]["converged"] in (True, False)
    assert C.make_svm().named_steps["svm"].max_iter == C.DEFAULT_MAX_ITER


def test_iteration_repeat_and_grid_limits():
    X, y = toy()
    with pytest.raises(ValueError, match="max_iter must be <="):
        C.make_svm(max_iter=10**9)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        C.select_svm(X, y, X, y, grid=GRID, max_iter=-1)     # sklearn's "no limit"
    with pytest.raises(ValueError, match="max_iter"):
        C.svm_baseline(X, y, X, y, X, y, grid=GRID, max_iter=0)
    with pytest.raises(ValueError, match="at most 200 fits"):
        C.select_svm(X, y, X, y, grid=GRID * 201)
    with pytest.raises(ValueError, match="n_repeats must be <="):
        C.permutation_importances(C.make_svm("linear").fit(X, y), X, y, ["a", "b", "c"], n_repeats=10**6)
    with pytest.raises(ValueError, match="importance_repeats must be <="):
        C.svm_baseline(X, y, X, y, X, y, grid=GRID, importance_repeats=10**6)
    with pytest.raises(ValueError, match="feret"):
        F.shape_features(np.ones((70, 70, 70), bool), feret=True)


# ============================================================================ unclear errors
@pytest.mark.parametrize("bad", [None, "abc", {"a": 1}])
def test_strings_and_none_for_arrays(bad):
    X, y = toy()
    calls = [lambda: F.quantize(bad, 4), lambda: F.glcm(bad, [1], [0]), lambda: F.glcm_features(bad),
             lambda: F.first_order(bad), lambda: F.haar2d(bad), lambda: F.image_features(bad),
             lambda: F.extract_features(bad, progress=False), lambda: F.shape_features(bad),
             lambda: F.parenchyma_box(bad, (2, 2)), lambda: F.lung_slice_mask(bad),
             lambda: F.feature_matrix(bad if not isinstance(bad, dict) else [bad]),
             lambda: C.select_svm(bad, y, X, y), lambda: C.select_svm(X, bad, X, y),
             lambda: C.diagnostic_metrics(bad, [0.1, 0.9]), lambda: C.diagnostic_metrics([0, 1], bad),
             lambda: C.shuffle_split(bad, y), lambda: C.svm_baseline(X, y, X, y, bad, y, grid=GRID)]
    for call in calls:
        with pytest.raises(TypeError):
            call()


def test_strings_and_none_for_numbers_name_the_argument():
    img = np.zeros((8, 8), np.uint8)
    X, y = toy()
    cases = [(lambda: F.glcm(img, [1], [0], levels="16"), "levels"),
             (lambda: F.glcm(img, None, [0]), "distances"), (lambda: F.glcm(img, ["1"], [0]), "distances"),
             (lambda: F.glcm(img, [1], "0"), "angles"), (lambda: F.glcm(img, [1], [0], symmetric="yes"), "symmetric"),
             (lambda: F.glcm(img, [1], [0], normed=None), "normed"),
             (lambda: F.first_order(img, percentiles="10"), "percentiles"),
             (lambda: F.first_order(img, percentiles=[None]), "percentiles"),
             (lambda: F.first_order(img, log_base="2"), "log_base"),
             (lambda: F.wavelet_energies(img, wavelet=None), "wavelet"),
             (lambda: F.wavelet_energies(img, level="2"), "level"),
             (lambda: F.extract_features(img[None], chunk_size="8", progress=False), "chunk_size"),
             (lambda: F.extract_features(img[None], progress="no"), "progress"),
             (lambda: F.shape_features(img > -1, feret="yes"), "feret"),
             (lambda: F.image_features(img, mask="abc"), "mask"),
             (lambda: F.feature_matrix({"a": np.zeros(2)}, names="a"), "names"),
             (lambda: C.make_svm(C="1"), "C"), (lambda: C.make_svm(gamma=None), "gamma"),
             (lambda: C.make_svm(seed="0"), "seed"), (lambda: C.make_svm(max_iter=None), "max_iter"),
             (lambda: C.shuffle_split(X, y, n="5"), "n"),
             (lambda: C.diagnostic_metrics([0, 1], [0.1, 0.9], threshold="0.5"), "threshold"),
             (lambda: C.diagnostic_metrics([0, 1], [0.1, 0.9], positive_label="1"), "positive_label"),
             (lambda: C.select_svm(X, y, X, y, grid=None), "grid"),
             (lambda: C.select_svm(X, y, X, y, grid=["linear"]), r"grid\[0\]"),
             (lambda: C.select_svm(X, y, X, y, grid=[{"kernel": "linear", "C": "big"}]), r"grid\[0\].*C"),
             (lambda: C.svm_baseline(X, y, X, y, X, y, feature_names="abc", grid=GRID), "feature_names"),
             (lambda: C.dataset_features("breastmnist", splits="val", progress=False), "splits"),
             (lambda: C.load_baseline(None), "path")]
    for call, name in cases:
        with pytest.raises(TypeError, match=name):
            call()


def test_spacing_checked_even_without_a_mask_and_scalars_refused():
    img = np.zeros((8, 8))
    for bad in ("x", np.nan, -1, (0.5,), (1.0, np.nan)):
        with pytest.raises(ValueError, match="spacing"):
            F.image_features(img, spacing=bad, wavelet_level=1)
        with pytest.raises(ValueError, match="spacing"):
            F.extract_features(img[None], spacing=bad, wavelet_level=1, progress=False)
    for scalar in (0, 1.5, True):
        with pytest.raises(ValueError, match="not a single number"):
            F.quantize(scalar, 4)


def test_bad_values_name_the_argument():
    X, y = toy()
    cases = [(lambda: C.select_svm(X, y, X, y, grid=[{"kernel": "linear", "C": 1, "degree": 3}]), "unknown keys"),
             (lambda: C.select_svm(X, y, X, y, grid=GRID, class_weight="equal"), "class_weight"),
             (lambda: C.permutation_importances(C.make_svm("linear").fit(X, y), X, y, ["a", "b", "c"],
                                                scoring="auc"), "scoring"),
             (lambda: C.dataset_features("breastmnist", splits=("validation",), progress=False), "splits"),
             (lambda: F.first_order(np.zeros((4, 4)), percentiles=[150]), "percentiles")]
    for call, name in cases:
        with pytest.raises(ValueError, match=name):
            call()


def _saved(result, tmp_path):
    j, n = C.save_baseline(result, tmp_path / "run")
    return j, n


def test_load_baseline_missing_keys_name_the_file(result, tmp_path):
    j, n = _saved(result, tmp_path)
    doc = json.loads(j.read_text())
    del doc["test_metrics"]
    j.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"run\.json.*missing \['test_metrics'\].*save_baseline"):
        C.load_baseline(tmp_path / "run")


def test_load_baseline_bad_json_and_npz(result, tmp_path):
    j, n = _saved(result, tmp_path)
    np.savez(n, y_true=result.y_true)                       # y_score, y_pred missing
    with pytest.raises(ValueError, match=r"run\.npz.*missing arrays \['y_score', 'y_pred'\]"):
        C.load_baseline(j)
    n.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"run\.npz.*not a readable"):
        C.load_baseline(j)
    j.write_text("{ broken")
    with pytest.raises(ValueError, match=r"run\.json.*not valid JSON"):
        C.load_baseline(j)
    j.write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"run\.json.*JSON object"):
        C.load_baseline(j)


def test_load_baseline_round_trip_still_works(result, tmp_path):
    _saved(result, tmp_path)
    doc = C.load_baseline(tmp_path / "run.json")
    np.testing.assert_array_equal(doc["y_score"], result.y_score)
    assert doc["params"] == result.params
