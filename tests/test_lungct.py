"""The lung-CT case study core: resampling, patch rules, honest splits, heat maps, the findings card."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import lungct as L
from medlab.datasets import load_lung_ct


@pytest.fixture(scope="module")
def cts():
    return {p: load_lung_ct(p) for p in L.PATIENTS}


@pytest.fixture(scope="module")
def cases(cts):
    return {p: L.prepare(ct) for p, ct in cts.items()}


@pytest.fixture(scope="module")
def patches(cases):
    return L.patch_dataset(list(cases.values()), size_mm=32, stride_mm=8, max_negatives=600, seed=0)


def test_resampling_keeps_the_physical_extent(cts, cases):
    for p, ct in cts.items():
        c = cases[p]
        sx, sy, sz = ct.spacing
        nx, ny, nz = ct.image.GetSize()
        assert c.pixel_mm == 1.0 and c.slice_mm == sz and c.hu.shape[0] == nz
        assert c.hu.shape[2] * c.pixel_mm == pytest.approx(nx * sx, abs=c.pixel_mm)
        assert c.hu.shape[1] * c.pixel_mm == pytest.approx(ny * sy, abs=c.pixel_mm)
        # the first pixel's outer edge coincides with the original grid's outer edge
        assert c.origin_mm[0] - c.pixel_mm / 2 == pytest.approx(ct.image.GetOrigin()[0] - sx / 2)
        # the same physical point has the same HU (within interpolation) on both grids
        b = ct.boxes[len(ct.boxes) // 2]
        x_mm, y_mm = (b.min_mm[0] + b.max_mm[0]) / 2, (b.min_mm[1] + b.max_mm[1]) / 2
        col, row = round((x_mm - c.origin_mm[0]) / c.pixel_mm), round((y_mm - c.origin_mm[1]) / c.pixel_mm)
        idx = ct.image.TransformPhysicalPointToIndex((x_mm, y_mm, b.z_mm))
        near = ct.array[idx[2], idx[1] - 1:idx[1] + 2, idx[0] - 1:idx[0] + 2]
        assert near.min() - 1 <= c.hu[idx[2], row, col] <= near.max() + 1


def test_box_coordinates_map_to_the_same_millimetres(cts, cases):
    for p, ct in cts.items():
        c = cases[p]
        for b, (z, r0, c0, r1, c1) in zip(ct.boxes, c.boxes):
            assert z == b.slice_index
            x0, y0, _ = c.to_mm(z, r0, c0)
            assert b.min_mm[0] - 1e-6 <= x0 <= b.min_mm[0] + c.pixel_mm
            assert b.min_mm[1] - 1e-6 <= y0 <= b.min_mm[1] + c.pixel_mm


def test_a0001_unboxed_tumour_slices_count_as_tumour(cases):
    c = cases["A0001"]
    assert set(c.boxed_slices) < set(c.tumour_slices)
    assert len(c.tumour_slices) == len(c.boxed_slices) + 2


def test_negatives_only_in_the_lung_and_away_from_every_tumour_slice(cases, patches):
    neg = patches.subset(patches.labels == 0)
    assert len(neg) > 100
    for p, c in cases.items():
        mine = neg.patient == p
        ks, (rows, cols) = neg.slice_index[mine], neg.centre_px[mine].T
        assert c.lung[ks, rows, cols].all()
        assert not (set(ks.tolist()) & {k + d for k in c.tumour_slices for d in (-1, 0, 1)})


def test_positives_have_their_centre_in_a_box(cases, patches):
    pos = patches.subset(patches.labels == 1)
    for p, c in cases.items():
        mine = pos.patient == p
        assert mine.sum() > 50
        box = c.box_mask()
        ks, (rows, cols) = pos.slice_index[mine], pos.centre_px[mine].T
        assert box[ks, rows, cols].all()
    assert patches.patches.shape[1:] == (32, 32)
    assert np.allclose(patches.slice_z_mm, patches.centre_mm[:, 2])


def test_patient_split_never_mixes_patients(patches):
    for test_patient in L.PATIENTS:
        tr, te = L.patient_split(patches, test_patient)
        assert set(te.patient.tolist()) == {test_patient}
        assert test_patient not in set(tr.patient.tolist())
        assert len(tr) + len(te) == len(patches)


def test_random_split_is_seeded_stratified_and_within_one_patient(patches):
    a = L.random_split(patches, "A0002", 0.3, seed=1)
    b = L.random_split(patches, "A0002", 0.3, seed=1)
    assert np.array_equal(a[1].centre_mm, b[1].centre_mm)
    for part in a:
        assert set(part.patient.tolist()) == {"A0002"}
    tumour = int((patches.subset(patches.patient == "A0002").labels == 1).sum())
    assert int(a[1].labels.sum()) == round(tumour * 0.3)


def test_patch_features_are_finite(patches):
    X, names = L.patch_features(patches.patches[:20])
    assert X.shape == (20, len(names)) and np.isfinite(X).all() and len(names) > 20


def _bright(p: np.ndarray) -> np.ndarray:  # a stand-in model: fraction of soft-tissue pixels
    return (p > -300).mean(axis=(1, 2))


def test_heatmap_shape_determinism_and_batching(cases):
    c = cases["A0001"]
    k = c.boxed_slices[len(c.boxed_slices) // 2]
    h1 = L.heatmap(_bright, c, k, stride_mm=8)
    h2 = L.heatmap(_bright, c, k, stride_mm=8, batch=7)
    assert h1.prob.shape == (len(h1.rows), len(h1.cols)) and h1.full.shape == c.hu.shape[1:]
    assert np.array_equal(h1.prob, h2.prob, equal_nan=True)
    assert np.isnan(h1.full[~c.thorax[k]]).all() and c.thorax[k].sum() > c.lung[k].sum()
    d = L.detections(h1, c, threshold=0.6)
    assert d["tp"] == 1 and d["fn"] == 0  # the mass is the densest structure inside the lung
    f = L.froc([h1], c, [0.2, 0.6, 0.99])
    assert f["sensitivity"].shape == (3,) and np.all(np.diff(f["sensitivity"]) <= 0)  # (FP counts need not be monotone: regions split)


def test_findings_card_diameter_equals_a_direct_measurement(cts):
    from skimage.measure import regionprops

    card = L.findings_card(cts["A0001"])
    assert card["side"] == "left" and L.findings_card(cts["A0002"])["side"] == "right"
    mask = card["region_mask"]
    sx = cts["A0001"].spacing[0]
    direct = max(regionprops(mask[z].astype(np.uint8))[0].feret_diameter_max
                 for z in range(mask.shape[0]) if mask[z].any()) * sx
    assert card["largest_axial_diameter_mm"] == pytest.approx(direct, abs=1.5 * sx)
    assert card["volume_ml"] == pytest.approx(mask.sum() * np.prod(cts["A0001"].spacing) / 1000)
    assert card["z_mm"] == (-229.0, -189.0)


def test_bad_input_is_a_clear_error(cases):
    c = cases["A0002"]
    no_boxes = dataclasses.replace(c, boxes=[])
    with pytest.raises(ValueError, match="no tumour boxes"):
        L.patch_dataset([no_boxes])
    with pytest.raises(ValueError, match="larger than"):
        L.patch_dataset([c], size_mm=400)
    with pytest.raises(ValueError, match="stride_mm must be > 0"):
        L.patch_dataset([c], stride_mm=0)
    with pytest.raises(ValueError, match="stride_mm must be > 0"):
        L.heatmap(_bright, c, 3, stride_mm=-1)
    with pytest.raises(TypeError, match="list of CTCase"):
        L.patch_dataset(["A0002"])
    with pytest.raises(ValueError, match="would cut about"):
        L.patch_dataset([c], stride_mm=0.01)
    ps = L.patch_dataset([c], max_negatives=50)
    with pytest.raises(ValueError, match="test_patient must be one of"):
        L.patient_split(ps, "A0003")
    with pytest.raises(ValueError, match="patient must be one of"):
        L.random_split(ps, "A0003")
    with pytest.raises(ValueError, match="probabilities"):
        L.heatmap(lambda p: np.full(len(p), 2.0), c, 15)
    with pytest.raises(TypeError, match="LungCT"):
        L.prepare(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="no tumour boxes"):
        L.findings_card(type("CT", (), {"image": sitk.Image(4, 4, 4, sitk.sitkInt16), "boxes": []})())


def test_findings_card_on_the_box_block_equals_growth_on_the_whole_volume(cts):
    # findings_card grows only inside the boxes' block (memory); 04's grow_from_box on the whole volume,
    # restricted to the same dilated boxes, must give the identical region and Dice
    from medlab.preprocess import grow_from_box

    for p in L.PATIENTS:
        ct = cts[p]
        card = L.findings_card(ct)
        whole = grow_from_box(ct.array, ct.mask().astype(bool), lower=-300, upper=200, roi_margin=4)
        assert card["region_mask"].shape == ct.array.shape
        assert np.array_equal(card["region_mask"], whole.region.astype(bool)), p
        assert card["dice_vs_box"] == pytest.approx(whole.dice)
    with pytest.raises(ValueError, match="roi_margin"):
        L.findings_card(cts["A0001"], roi_margin=-1)


def test_keras_scorer_gives_run_predicts_probabilities(cases):
    pytest.importorskip("tensorflow")
    from medlab import training

    model = training.seed_cnn((32, 32, 1), seed=0)
    c = cases["A0001"]
    k = c.boxed_slices[0]
    rng = np.random.default_rng(0)
    patches = rng.uniform(-1100, 200, (300, 32, 32)).astype(np.float32)
    direct = model.predict(training.prepare_images(L.to_window_uint8(patches)), verbose=0).reshape(-1)
    score = L.keras_scorer(model, batch=64)
    got = score(patches)
    assert got.shape == (300,) and got.dtype == np.float64
    assert np.allclose(got, direct, atol=1e-6)
    h1, h2 = L.heatmap(score, c, k, stride_mm=16), L.heatmap(score, c, k, stride_mm=16, batch=37)
    assert np.allclose(h1.prob, h2.prob, equal_nan=True, atol=1e-6)
    with pytest.raises(ValueError, match="patches must have shape"):
        score(np.zeros((2, 16, 16)))
    with pytest.raises(TypeError, match="Keras model or a TrainingRun"):
        L.keras_scorer("cnn")


def test_patch_cnn_numpy_forward_pass_equals_keras():
    """PatchCNN.predict (03's forward pass in numpy, float32) gives Keras' probabilities for seed_cnn((32, 32, 1))."""
    pytest.importorskip("tensorflow")
    from medlab import training

    model = training.seed_cnn((32, 32, 1), seed=3)
    rng = np.random.default_rng(1)
    # trained-looking weights: random but larger than the initial ones, so the sigmoid is far from 0.5
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) for w in model.get_weights()])
    x = rng.integers(0, 256, (300, 32, 32), dtype=np.uint8)
    keras_p = model.predict(training.prepare_images(x), verbose=0).reshape(-1)
    cnn = L.PatchCNN(model.get_weights())
    got = cnn.predict(x, batch=64)
    assert got.shape == (300,) and got.dtype == np.float64
    assert np.allclose(got, keras_p, atol=1e-5) and keras_p.std() > 0.01
    # batching changes nothing beyond float32 rounding (BLAS blocks a matrix product by its size)
    assert np.allclose(cnn.predict(x, batch=7), cnn.predict(x, batch=256), rtol=0, atol=1e-6)


def test_patch_cnn_rejects_bad_weights_and_inputs():
    good = [np.zeros(s, np.float32) for s in L.PATCH_CNN_SHAPES]
    with pytest.raises(ValueError, match="weights must be the 6 arrays"):
        L.PatchCNN(good[:4])
    bad = list(good); bad[2] = np.zeros((3, 3, 1, 64), np.float32)
    with pytest.raises(ValueError, match=r"weights\[2\] has shape"):
        L.PatchCNN(bad)
    bad = list(good); bad[0] = np.full((3, 3, 1, 32), np.nan, np.float32)
    with pytest.raises(ValueError, match="NaN"):
        L.PatchCNN(bad)
    cnn = L.PatchCNN(good)
    with pytest.raises(ValueError, match=r"\(N, 32, 32\)"):
        cnn.predict(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        cnn.predict(np.zeros((2, 32, 32), np.float32))
    with pytest.raises(ValueError, match="empty"):
        cnn.predict(np.zeros((0, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="check"):
        L.train_patch_cnn((np.zeros((4, 32, 32), np.uint8), np.array([0, 1, 0, 1])), worker=False,
                          check={"x": np.zeros((2, 28, 28), np.uint8)})


def test_train_patch_cnn_in_a_worker_matches_the_kernel(patches, tmp_path):
    """The worker trains exactly what the kernel would (same seed -> same weights), TensorFlow stays out of
    this process's part of the work, and the numpy predictions equal the worker's Keras ones."""
    pytest.importorskip("tensorflow")
    from medlab import runtime

    u8 = L.to_window_uint8(patches.patches)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(u8))[:400]
    train, val, check = (u8[idx[:300]], patches.labels[idx[:300]]), (u8[idx[300:]], patches.labels[idx[300:]]), u8[:50]
    n_log = len(runtime.WORKER_LOG)
    a = L.train_patch_cnn(train, val, epochs=1, seed=0, check={"c": check}, run_dir=tmp_path)
    b = L.train_patch_cnn(train, val, epochs=1, seed=0, check={"c": check}, run_dir=tmp_path, worker=False)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))
    assert np.allclose(a.predict(check), a.keras_probs["c"], atol=1e-5)
    assert a.history["loss"] == b.history["loss"] and a.run_name
    log = runtime.WORKER_LOG[n_log:]
    assert len(log) == 1 and log[0]["tensorflow"] and log[0]["peak_mib"] > 100


def test_patch_cnn_batch_is_limited():
    cnn = L.PatchCNN([np.zeros(s, np.float32) for s in L.PATCH_CNN_SHAPES])
    assert cnn.predict(np.zeros((600, 32, 32), np.uint8)).shape == (600,)      # any N, in batches
    with pytest.raises(ValueError, match="batch must be <= 256"):
        cnn.predict(np.zeros((3, 32, 32), np.uint8), batch=1000)
