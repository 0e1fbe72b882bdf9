"""medlab.explain: each attribution method against an independent computation, and the sanity checks.

References: finite differences (gradients), a hand-computed Grad-CAM on a hand-built model, a brute-force
occlusion loop over ``model.predict``, the completeness axiom of integrated gradients, scipy's Spearman and
scikit-image's SSIM, tf.image.resize. A small CNN trained here to detect a planted bright square checks that
every model-based map peaks inside the square.
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from medlab import explain as ex  # noqa: E402

L = keras.layers


def article_model(size: int = 28, seed: int = 0, functional: bool = False, dtype: str = "float32"):
    """The source article's CNN: Conv(32,3) -> Pool2 -> Conv(64,3) -> Pool2 -> Flatten -> Dense(1, sigmoid)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 1), dtype=dtype)
    stack = [L.Conv2D(32, 3, activation="relu", dtype=dtype), L.MaxPooling2D(2, dtype=dtype),
             L.Conv2D(64, 3, activation="relu", dtype=dtype), L.MaxPooling2D(2, dtype=dtype),
             L.Flatten(dtype=dtype), L.Dense(1, activation="sigmoid", dtype=dtype)]
    if not functional:
        return keras.Sequential([inp] + stack)
    h = inp
    for layer in stack:
        h = layer(h)
    return keras.Model(inp, h)


def image(size: int = 28, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((1, size, size, 1)).astype(np.float32)


def logit_from_predict(model, batch: np.ndarray) -> np.ndarray:
    p = np.asarray(model(batch, training=False))[:, 0].astype(np.float64)  # the model's own sigmoid output
    return np.log(p) - np.log1p(-p)


# ----------------------------------------------------------------------------- the logit
def test_logit_of_sigmoid_dense_activation_layer_and_linear_models():
    x = image(12, seed=3)
    keras.utils.set_random_seed(0)
    a = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(3, 3, activation="relu"), L.Flatten(),
                          L.Dense(1, activation="sigmoid")])
    b = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(3, 3, activation="relu"), L.Flatten(),
                          L.Dense(1), L.Activation("sigmoid")])
    b.set_weights(a.get_weights())
    c = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(3, 3, activation="relu"), L.Flatten(), L.Dense(1)])
    c.set_weights(a.get_weights())
    want = logit_from_predict(a, x)[0]
    assert ex.logit(a, x) == pytest.approx(want, abs=1e-5)
    assert ex.logit(b, x) == pytest.approx(want, abs=1e-5)
    assert ex.logit(c, x) == pytest.approx(float(c.predict(x, verbose=0)[0, 0]), abs=1e-6)
    # the logit equals x @ W + b of the last layer's input, computed here by a sub-model
    h = keras.Model(a.inputs[0], a.layers[-1].input)(x).numpy()
    w, bias = a.layers[-1].get_weights()
    assert ex.logit(a, x) == pytest.approx(float((h @ w + bias)[0, 0]), abs=1e-5)
    # the model is unchanged: its output is still the sigmoid
    assert float(a.predict(x, verbose=0)[0, 0]) == pytest.approx(1 / (1 + np.exp(-want)), abs=1e-6)


def test_saliency_is_of_the_logit_not_the_probability():
    model = article_model(16)
    x = image(16)
    out = ex.saliency(model, x)
    t = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        p = model(t)[0, 0]
    dp = tape.gradient(p, t).numpy()[0, :, :, 0]
    prob = out["probability"]
    # d sigmoid(z)/dx = p (1 - p) dz/dx
    np.testing.assert_allclose(dp, prob * (1 - prob) * out["gradient"], rtol=1e-4, atol=1e-7)


def test_other_output_layers_are_refused_with_a_clear_error():
    keras.utils.set_random_seed(0)
    soft = keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(1, activation="relu")])
    with pytest.raises(ValueError, match="not a sigmoid unit"):
        ex.saliency(soft, image(8))
    two = keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="one output of shape"):
        ex.saliency(two, image(8))


# ----------------------------------------------------------------------------- gradients
def test_saliency_against_central_finite_differences_in_float64():
    model = article_model(14, seed=2, dtype="float64")
    x = image(14, seed=5).astype(np.float64)
    out = ex.saliency(model, x)
    rng = np.random.default_rng(0)
    h = 1e-6
    pixels = rng.choice(14 * 14, size=12, replace=False)
    for flat in pixels:
        i, j = divmod(int(flat), 14)
        up, down = x.copy(), x.copy()
        up[0, i, j, 0] += h
        down[0, i, j, 0] -= h
        fd = (ex.logit(model, up) - ex.logit(model, down)) / (2 * h)
        assert out["gradient"][i, j] == pytest.approx(fd, rel=1e-5, abs=1e-8)
        assert out["map"][i, j] == pytest.approx(abs(fd), rel=1e-5, abs=1e-8)


def test_negative_class_flips_the_gradient_sign():
    model = article_model(16)
    x = image(16)
    pos, neg = ex.saliency(model, x), ex.saliency(model, x, target_class=0)
    np.testing.assert_allclose(neg["gradient"], -pos["gradient"], rtol=1e-6)
    np.testing.assert_allclose(neg["map"], pos["map"], rtol=1e-6)
    assert neg["target_class"] == 0 and pos["target_class"] == 1


def test_smoothgrad_equals_the_mean_of_noisy_saliencies_and_is_seeded():
    model = article_model(16)
    x = image(16)
    out = ex.smoothgrad(model, x, noise=0.2, n=6, seed=4)
    sigma = 0.2 * float(x.max() - x.min())
    assert out["sigma"] == pytest.approx(sigma)
    noise = np.random.default_rng(4).normal(0.0, sigma, size=(6,) + x.shape[1:])
    maps = [ex.saliency(model, (x + noise[k:k + 1]).astype(np.float32))["map"] for k in range(6)]
    np.testing.assert_allclose(out["map"], np.mean(maps, axis=0), rtol=1e-5, atol=1e-8)
    again = ex.smoothgrad(model, x, noise=0.2, n=6, seed=4)
    assert np.array_equal(out["map"], again["map"])
    assert not np.array_equal(out["map"], ex.smoothgrad(model, x, noise=0.2, n=6, seed=5)["map"])


def test_gradient_x_input_is_exact_for_a_linear_model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((6, 6, 1)), L.Flatten(), L.Dense(1, activation="sigmoid")])
    x = image(6)
    w, b = m.layers[-1].get_weights()
    out = ex.gradient_x_input(m, x)
    np.testing.assert_allclose(out["map"], x[0, :, :, 0] * w.reshape(6, 6), rtol=1e-5, atol=1e-7)
    assert out["map"].sum() + float(b[0]) == pytest.approx(out["logit"], abs=1e-5)


# ----------------------------------------------------------------------------- Grad-CAM
def test_grad_cam_against_a_direct_computation_on_a_hand_built_model():
    from scipy.signal import correlate2d
    rng = np.random.default_rng(7)
    k = 3
    model = keras.Sequential([keras.Input((9, 9, 1)), L.Conv2D(k, 3, activation="relu", name="conv"),
                              L.Flatten(), L.Dense(1, activation="sigmoid", name="out")])
    kernels = rng.normal(size=(3, 3, 1, k)).astype(np.float32)
    biases = rng.normal(scale=0.1, size=k).astype(np.float32)
    dense_w = rng.normal(size=(7 * 7 * k, 1)).astype(np.float32)
    dense_b = np.array([0.3], np.float32)
    model.set_weights([kernels, biases, dense_w, dense_b])
    x = image(9, seed=11)
    # by hand: A_k = ReLU(x * K_k + b_k) (cross-correlation, 'valid'); z = vec(A) . w + b, so
    # dz/dA_k[i, j] = w reshaped to (7, 7, k) (Flatten is row-major over (i, j, k))
    acts = np.stack([np.maximum(correlate2d(x[0, :, :, 0].astype(np.float64), kernels[:, :, 0, c], "valid")
                                + biases[c], 0) for c in range(k)], axis=-1)
    dz_da = dense_w.reshape(7, 7, k).astype(np.float64)
    alpha = dz_da.mean(axis=(0, 1))
    raw = np.maximum((acts * alpha).sum(axis=-1), 0)
    out = ex.grad_cam(model, x)
    assert out["layer"] == "conv"
    np.testing.assert_allclose(out["weights"], alpha, rtol=1e-5)
    np.testing.assert_allclose(out["raw"], raw, rtol=1e-4, atol=1e-5)
    assert out["logit"] == pytest.approx(float((acts * dz_da).sum() + 0.3), abs=1e-4)
    # the negative class: -z, so the weights flip sign before the ReLU
    neg = ex.grad_cam(model, x, target_class=0)
    np.testing.assert_allclose(neg["raw"], np.maximum(-(acts * alpha).sum(axis=-1), 0), rtol=1e-4, atol=1e-5)
    # HiResCAM: the gradient per position; with Flatten -> Dense it is each position's exact logit share
    hires = ex.grad_cam(model, x, variant="hirescam")
    np.testing.assert_allclose(hires["raw"], np.maximum((acts * dz_da).sum(axis=-1), 0), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="variant must be one of"):
        ex.grad_cam(model, x, variant="cam++")
    # the upsampled map is a bilinear resize with half-pixel centres, as tf.image.resize does
    ref = tf.image.resize(raw[None, :, :, None], (9, 9), method="bilinear").numpy()[0, :, :, 0]
    np.testing.assert_allclose(out["map"], ref, rtol=1e-5, atol=1e-6)


def test_grad_cam_on_the_article_model_gives_an_11_by_11_grid_and_any_conv_layer():
    model = article_model()
    x = image()
    convs = ex.conv_layers(model)
    assert len(convs) == 2
    last = ex.grad_cam(model, x)
    assert last["layer"] == convs[-1] and last["raw"].shape == (11, 11) and last["map"].shape == (28, 28)
    first = ex.grad_cam(model, x, layer=convs[0])
    assert first["raw"].shape == (26, 26) and first["map"].shape == (28, 28)
    assert np.all(last["map"] >= 0) and np.all(first["raw"] >= 0)
    with pytest.raises(ValueError, match="not feature maps"):
        ex.grad_cam(model, x, layer=model.layers[4].name)  # Flatten
    with pytest.raises(ValueError, match="not a layer"):
        ex.grad_cam(model, x, layer="nope")
    with pytest.raises(TypeError, match="layer must be"):
        ex.grad_cam(model, x, layer=3)
    dense_only = keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="no Conv2D"):
        ex.grad_cam(dense_only, x)


# ----------------------------------------------------------------------------- occlusion
@pytest.mark.parametrize("patch,stride,fill", [(4, 2, 0.0), (5, 3, "mean"), (3, 3, 0.5)])
def test_occlusion_against_a_brute_force_loop(patch, stride, fill):
    model = article_model(12, seed=3)
    x = image(12, seed=2)
    out = ex.occlusion(model, x, patch=patch, stride=stride, fill=fill)
    value = float(x.mean()) if fill == "mean" else fill
    base = logit_from_predict(model, x)[0]
    total = np.zeros((12, 12))
    count = np.zeros((12, 12))
    rows = list(range(0, 12 - patch + 1, stride))
    if rows[-1] != 12 - patch:
        rows.append(12 - patch)
    grid = np.zeros((len(rows), len(rows)))
    for a, r in enumerate(rows):
        for b, c in enumerate(rows):
            y = x.copy()
            y[0, r:r + patch, c:c + patch, 0] = value
            drop = base - logit_from_predict(model, y)[0]
            grid[a, b] = drop
            for i in range(r, r + patch):
                for j in range(c, c + patch):
                    total[i, j] += drop
                    count[i, j] += 1
    assert count.min() >= 1
    np.testing.assert_allclose(out["grid"], grid, rtol=1e-3, atol=2e-4)
    np.testing.assert_allclose(out["map"], total / count, rtol=1e-3, atol=2e-4)
    assert out["n_windows"] == len(rows) ** 2 and out["rows"].tolist() == rows


# ----------------------------------------------------------------------------- integrated gradients
def test_integrated_gradients_completeness_within_one_percent_and_shrinking_with_steps():
    model = article_model(seed=4)
    x = image(seed=6)
    coarse = ex.integrated_gradients(model, x, steps=4)
    fine = ex.integrated_gradients(model, x, steps=256)
    # stated tolerance: with 256 steps the attributions add up to z(x) - z(0) within 1 % of |z(x) - z(0)|
    assert fine["relative_error"] < 0.01
    assert fine["completeness_error"] == pytest.approx(abs(fine["sum"] - fine["delta"]))
    assert fine["delta"] == pytest.approx(ex.logit(model, x) - ex.logit(model, np.zeros_like(x)), abs=1e-5)
    assert fine["completeness_error"] <= coarse["completeness_error"]
    assert fine["map"].shape == (28, 28) and fine["attributions"].shape == (28, 28, 1)


def test_integrated_gradients_of_a_linear_model_is_exact_for_any_baseline():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((5, 5, 1)), L.Flatten(), L.Dense(1, activation="sigmoid")])
    w = m.layers[-1].get_weights()[0].reshape(5, 5)
    x, base = image(5, seed=1), image(5, seed=2)
    out = ex.integrated_gradients(m, x, baseline=base, steps=1)
    np.testing.assert_allclose(out["map"], (x - base)[0, :, :, 0] * w, rtol=1e-5, atol=1e-7)
    assert out["completeness_error"] < 1e-5
    const = ex.integrated_gradients(m, x, baseline=0.5, steps=2)
    np.testing.assert_allclose(const["map"], (x[0, :, :, 0] - 0.5) * w, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- models: Sequential, functional, .keras
def test_sequential_functional_and_reloaded_models_give_the_same_maps(tmp_path):
    seq = article_model(seed=5)
    fun = article_model(seed=5, functional=True)
    fun.set_weights(seq.get_weights())
    path = tmp_path / "model.keras"
    seq.save(path)
    reloaded = keras.models.load_model(path)
    x = image()
    for method, kw in [("saliency", {}), ("grad_cam", {}), ("integrated_gradients", {"steps": 8}),
                       ("occlusion", {"patch": 7, "stride": 7}), ("smoothgrad", {"n": 3})]:
        ref = ex.explain(seq, x, method, **kw)["map"]
        for other in (fun, reloaded):
            np.testing.assert_allclose(ex.explain(other, x, method, **kw)["map"], ref, rtol=1e-4, atol=1e-6)
    assert len(ex.conv_layers(fun)) == len(ex.conv_layers(seq)) == 2


def test_the_kits_training_models_seed_cnn_and_medlab_cnn():
    training = pytest.importorskip("medlab.training")
    x = image()
    seed = training.seed_cnn((28, 28, 1), seed=0)
    cam = ex.grad_cam(seed, x)
    assert cam["layer"] == "conv2" and cam["raw"].shape == (11, 11)
    assert ex.logit(seed, x) == pytest.approx(logit_from_predict(seed, x)[0], abs=1e-4)
    kit = training.medlab_cnn((28, 28, 1), seed=0)   # Conv -> BatchNorm -> ReLU blocks, GAP, Dropout
    cam = ex.grad_cam(kit, x)
    names = [l.name for l in kit.layers]
    last_conv = max(i for i, l in enumerate(kit.layers) if isinstance(l, L.Conv2D))
    relu = kit.layers[last_conv + 2]                  # Conv2D -> BatchNormalization -> Activation("relu")
    assert isinstance(relu, L.Activation) and cam["layer"] == relu.name, names
    assert cam["raw"].shape == tuple(relu.output.shape[1:3]) and cam["map"].shape == (28, 28)
    assert ex.logit(kit, x) == pytest.approx(logit_from_predict(kit, x)[0], abs=1e-4)
    ig = ex.integrated_gradients(kit, x, steps=128)
    assert ig["relative_error"] < 0.05


def test_explain_batch_equals_image_by_image():
    model = article_model(16)
    xs = np.random.default_rng(0).random((5, 16, 16, 1)).astype(np.float32)
    for method, kw in [("saliency", {}), ("gradient_x_input", {}), ("grad_cam", {}),
                       ("grad_cam", {"target_class": 0}), ("occlusion", {"patch": 4, "stride": 4})]:
        batch = ex.explain_batch(model, xs, method, **kw)
        one = np.stack([ex.explain(model, xs[i:i + 1], method, **kw)["map"] for i in range(5)])
        np.testing.assert_allclose(batch, one, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- the planted bright square
SQUARE = 5


def square_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = (0.35 * rng.random((n, 28, 28, 1))).astype(np.float32)
    y = (np.arange(n) % 2).astype(np.float32)
    corners = rng.integers(3, 28 - SQUARE - 3, size=(n, 2))
    for k in np.flatnonzero(y == 1):
        r, c = corners[k]
        x[k, r:r + SQUARE, c:c + SQUARE, 0] = 1.0
    return x, y, corners


@pytest.fixture(scope="module")
def square_model():
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    model = article_model(seed=0)
    x, y, _ = square_data(600, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    return model


def test_every_map_peaks_inside_the_planted_square(square_model):
    x, y, corners = square_data(40, seed=1)
    acc = np.mean((square_model.predict(x, verbose=0)[:, 0] >= 0.5) == (y == 1))
    assert acc >= 0.95
    methods = {"saliency": {}, "smoothgrad": {"n": 50, "noise": 0.1}, "gradient_x_input": {}, "grad_cam": {},
               "occlusion": {"patch": 3, "stride": 1}, "integrated_gradients": {"steps": 32}}
    for k in np.flatnonzero(y == 1)[:6]:
        r, c = corners[k]
        inside = np.zeros((28, 28), bool)
        inside[r:r + SQUARE, c:c + SQUARE] = True
        for method, kw in methods.items():
            m = ex.explain(square_model, x[k:k + 1], method, **kw)["map"]
            i, j = np.unravel_index(np.argmax(m), m.shape)
            assert inside[i, j], f"{method}: max at {(i, j)}, square at {(r, c)}"
        edge = ex.edge_detector(square_model, x[k:k + 1])["map"]  # the control marks the square's border
        i, j = np.unravel_index(np.argmax(edge), edge.shape)
        assert r - 1 <= i <= r + SQUARE and c - 1 <= j <= c + SQUARE


def test_deletion_and_insertion_beat_a_random_order(square_model):
    x, y, _ = square_data(10, seed=2)
    k = int(np.flatnonzero(y == 1)[0])
    xk = x[k:k + 1]
    ig = ex.integrated_gradients(square_model, xk, steps=32)
    out = ex.deletion_insertion(square_model, xk, ig, steps=28)
    p = float(square_model.predict(xk, verbose=0)[0, 0])
    assert out["deletion"][0] == pytest.approx(p, abs=1e-5) and out["insertion"][-1] == pytest.approx(p, abs=1e-5)
    p_black = float(square_model.predict(np.zeros_like(xk), verbose=0)[0, 0])
    assert out["deletion"][-1] == pytest.approx(p_black, abs=1e-5)
    assert out["deletion_auc"] < out["random_deletion_auc"]
    assert out["insertion_auc"] > out["random_insertion_auc"]
    assert out["deletion_auc"] == pytest.approx(np.trapezoid(out["deletion"], out["fractions"]))
    assert 0 <= out["deletion_auc"] <= 1 and 0 <= out["insertion_auc"] <= 1


# ----------------------------------------------------------------------------- sanity checks
def test_similarity_against_scipy_and_skimage():
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 20))
    b = a + rng.normal(scale=0.5, size=(20, 20))
    s = ex.similarity(a, b)
    assert s["spearman"] == pytest.approx(spearmanr(a.ravel(), b.ravel()).statistic)
    assert s["spearman_abs"] == pytest.approx(spearmanr(np.abs(a).ravel(), np.abs(b).ravel()).statistic)
    ref = structural_similarity(np.abs(a) / np.abs(a).max(), np.abs(b) / np.abs(b).max(), data_range=1.0)
    assert s["ssim"] == pytest.approx(ref)
    zero = ex.similarity(a, np.zeros((20, 20)))
    assert zero["spearman"] == 0.0 and np.isfinite(zero["ssim"])
    assert ex.similarity(np.ones((5, 5)), np.ones((5, 5)))["spearman"] == 1.0
    with pytest.raises(ValueError, match="same shape"):
        ex.similarity(a, a[:5])


def test_cascading_randomization_changes_gradients_and_grad_cam_but_not_the_edge_detector(square_model):
    x, y, _ = square_data(4, seed=3)
    xk = x[int(np.flatnonzero(y == 1)[0])][None]
    before = [w.copy() for w in square_model.get_weights()]
    out = ex.cascading_randomization(square_model, xk, seed=0,
                                     method_kwargs={"integrated_gradients": {"steps": 16}})
    names = [l.name for l in square_model.layers if l.weights][::-1]
    assert out["layers"] == ["trained"] + names
    for m in out["maps"]:
        assert out["maps"][m].shape == (4, 28, 28)
        assert out["spearman"][m][0] == pytest.approx(1.0) and out["ssim"][m][0] == pytest.approx(1.0)
        assert np.all(np.isfinite(out["spearman"][m])) and np.all(np.isfinite(out["ssim"][m]))
    np.testing.assert_allclose(out["ssim"]["edge_detector"], 1.0)
    for m in ("saliency", "grad_cam"):
        assert out["spearman_abs"][m][-1] < 0.6, (m, out["spearman_abs"][m])
    # IG multiplies by (x - baseline): like gradient x input it keeps part of the input's structure
    assert out["spearman_abs"]["integrated_gradients"][-1] < 0.9
    # the trained model itself is untouched
    for w0, w1 in zip(before, square_model.get_weights()):
        assert np.array_equal(w0, w1)
    again = ex.cascading_randomization(square_model, xk, methods=("saliency",), seed=0)
    np.testing.assert_array_equal(again["maps"]["saliency"], out["maps"]["saliency"])


def test_label_randomization_is_seeded_and_changes_the_maps(square_model):
    x, y, _ = square_data(96, seed=4)
    xk = x[1:2]
    kw = dict(epochs=1, seed=3, methods=("saliency", "grad_cam", "edge_detector"), batch_size=32)
    a = ex.label_randomization(square_model, xk, x, y, **kw)
    b = ex.label_randomization(square_model, xk, x, y, **kw)
    np.testing.assert_allclose(a["maps"]["saliency"], b["maps"]["saliency"], rtol=1e-5, atol=1e-8)
    assert a["ssim"]["edge_detector"] == pytest.approx(1.0)
    assert a["spearman_abs"]["saliency"] < 0.9
    assert 0 <= a["true_label_accuracy"] <= 1 and a["maps"]["grad_cam"].shape == (2, 28, 28)
    with pytest.raises(ValueError, match="labels must have one entry"):
        ex.label_randomization(square_model, xk, x, y[:5])


# ----------------------------------------------------------------------------- bad input
def test_bad_input_gives_clear_errors():
    model = article_model(8 * 2)
    x = image(16)
    with pytest.raises(TypeError, match="Keras model"):
        ex.saliency("model", x)
    with pytest.raises(ValueError, match=r"x\[None\]"):
        ex.saliency(model, x[0])
    with pytest.raises(ValueError, match="exactly one image"):
        ex.saliency(model, np.concatenate([x, x]))
    with pytest.raises(ValueError, match="expects images of shape"):
        ex.saliency(model, image(12))
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ex.grad_cam(model, bad)
    with pytest.raises(TypeError, match="numeric array"):
        ex.saliency(model, None)
    with pytest.raises(ValueError, match="target_class"):
        ex.saliency(model, x, target_class=2)
    with pytest.raises(ValueError, match="patch must be <= 16"):
        ex.occlusion(model, x, patch=17)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        ex.occlusion(model, x, stride=0)
    with pytest.raises(ValueError, match="fill must be one of"):
        ex.occlusion(model, x, fill="median")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        ex.integrated_gradients(model, x, steps=0)
    with pytest.raises(ValueError, match="steps must be <= 1000"):
        ex.integrated_gradients(model, x, steps=10**6)
    with pytest.raises(ValueError, match="baseline has shape"):
        ex.integrated_gradients(model, x, baseline=np.zeros((1, 16, 16, 2)))
    with pytest.raises(ValueError, match="noise must be >= 0"):
        ex.smoothgrad(model, x, noise=-1)
    with pytest.raises(ValueError, match="n must be <= 1000"):
        ex.smoothgrad(model, x, n=5000)
    with pytest.raises(ValueError, match="method must be one of"):
        ex.explain(model, x, "lime")
    with pytest.raises(ValueError, match="attribution must have the image's shape"):
        ex.deletion_insertion(model, x, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="methods must be one of"):
        ex.cascading_randomization(model, x, methods=("saliency", "shap"))
    unbuilt = keras.Sequential([L.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="not built"):
        ex.saliency(unbuilt, x)


# ----------------------------------------------------------------------------- lung fields and attribution share
def test_xray_lung_fields_on_a_synthetic_radiograph():
    rng = np.random.default_rng(0)
    img = np.full((128, 128), 0.75) + 0.02 * rng.normal(size=(128, 128))
    yy, xx = np.mgrid[:128, :128]
    left = ((yy - 60) / 38) ** 2 + ((xx - 36) / 18) ** 2 <= 1
    right = ((yy - 60) / 38) ** 2 + ((xx - 92) / 18) ** 2 <= 1
    img[left | right] = 0.3
    mask = ex.xray_lung_fields(img)
    truth = left | right
    dice = 2 * np.sum(mask & truth) / (mask.sum() + truth.sum())
    assert dice > 0.9
    assert not mask[60, 64]          # mediastinum
    with pytest.raises(ValueError, match="constant"):
        ex.xray_lung_fields(np.ones((64, 64)))
    with pytest.raises(ValueError, match="at least 16"):
        ex.xray_lung_fields(np.zeros((8, 8)))


def test_xray_lung_fields_on_real_chest_xrays_mostly_inside_the_thorax():
    from medlab.datasets import load_chestxray256
    x, _, _, _ = load_chestxray256("val")
    for k in range(6):
        m = ex.xray_lung_fields(x[k])
        assert 0.05 < m.mean() < 0.6
        assert m[:, : 128].any() and m[:, 128:].any()   # one field in each half


def test_attribution_inside():
    amap = np.zeros((6, 6))
    amap[1, 1], amap[4, 4], amap[0, 5] = 2.0, 1.0, -5.0
    mask = np.zeros((6, 6), bool)
    mask[:3, :3] = True
    out = ex.attribution_inside(amap, mask)
    assert out["inside"] == pytest.approx(2 / 3) and out["area"] == pytest.approx(9 / 36)
    assert out["ratio"] == pytest.approx((2 / 3) / (9 / 36))
    assert ex.attribution_inside({"map": amap}, mask)["inside"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no positive value"):
        ex.attribution_inside(-np.ones((6, 6)), mask)
    with pytest.raises(ValueError, match="resize the map"):
        ex.attribution_inside(amap, np.zeros((12, 12), bool))


# ----------------------------------------------------------------------------- exercises of 08
def test_exercise_checks_recognise_right_answers_and_typical_mistakes():
    from medlab.exercises import explain as E
    assert not E.check_occlusion_windows(None)
    t = E.OCCLUSION_TASK
    right = len(ex.occlusion_starts(t["size"], t["patch"], t["stride"])) ** 2
    assert E.check_occlusion_windows(right) and right == 144
    assert "one axis" in E.check_occlusion_windows(12).hint
    assert "+ 1" in E.check_occlusion_windows(121).hint
    assert "fit inside" in E.check_occlusion_windows(196).hint
    # 08 §4 prints the window count of 4 x 4 / stride 2: the exercise must ask another one
    assert not E.check_occlusion_windows(len(ex.occlusion_starts(28, 4, 2)) ** 2)
    assert not E.check_occlusion_windows(145)
    with pytest.raises(TypeError):
        E.check_occlusion_windows("many")
    # Grad-CAM by hand, against the core's computation on a model whose last conv layer gives these maps
    cam = E.grad_cam_reference()
    assert E.check_grad_cam_by_hand(cam)
    no_relu = np.tensordot(E.GRAD_CAM_GRADS.mean(axis=(1, 2)), E.GRAD_CAM_ACTS, axes=(0, 0))
    assert "ReLU" in E.check_grad_cam_by_hand(no_relu).hint
    assert "gradient x activation" in E.check_grad_cam_by_hand(
        np.maximum((E.GRAD_CAM_GRADS * E.GRAD_CAM_ACTS).sum(axis=0), 0)).hint
    with pytest.raises(TypeError):
        E.check_grad_cam_by_hand(np.zeros(4))
    assert E.check_ig_sum(3.2) and not E.check_ig_sum(2.3) and "minus a negative" in E.check_ig_sum(1.4).hint
    fake = {"spearman_abs": {"saliency": np.array([1, 0.3]), "edge_detector": np.array([1, 1.0])}}
    assert E.check_failed_sanity_check("edge_detector", fake)
    assert not E.check_failed_sanity_check("saliency", fake)
    assert not E.check_failed_sanity_check("lime", fake)
    with pytest.raises(TypeError):
        E.check_failed_sanity_check("saliency", {})


def test_grad_cam_exercise_matches_the_core_on_a_model_with_those_feature_maps():
    """A 1x1 'identity' conv passes 2-channel input through; Flatten + Dense with the exercise's gradients
    as weights makes dz/dA exactly GRAD_CAM_GRADS, so grad_cam must return the exercise's answer."""
    from medlab.exercises import explain as E
    model = keras.Sequential([keras.Input((3, 3, 2)), L.Conv2D(2, 1, name="id"), L.Flatten(),
                              L.Dense(1, activation="sigmoid")])
    dense_w = np.transpose(E.GRAD_CAM_GRADS, (1, 2, 0)).reshape(-1, 1)
    model.set_weights([np.eye(2).reshape(1, 1, 2, 2), np.zeros(2), dense_w, np.zeros(1)])
    x = np.transpose(E.GRAD_CAM_ACTS, (1, 2, 0))[None].astype(np.float32)
    out = ex.grad_cam(model, x, layer="id")
    np.testing.assert_allclose(out["raw"], E.grad_cam_reference(), atol=1e-5)
