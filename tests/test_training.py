"""Unit 06: the chestxray256 data, medlab.training (models, fit, runs, augmentation, transfer learning)."""
from __future__ import annotations

import csv
import hashlib
import re

import numpy as np
import pytest

from medlab import datasets
from medlab.datasets import DatasetError


# --------------------------------------------------------------------------- chestxray256
@pytest.mark.parametrize("split,n,counts,subtypes", [("train", 400, [200, 200], [200, 133, 67]),
                                                     ("val", 90, [45, 45], [45, 30, 15]),
                                                     ("test", 180, [90, 90], [90, 60, 30])])
def test_chestxray256_shapes_and_counts(split, n, counts, subtypes):
    x, y, sub, pid = datasets.load_chestxray256(split)
    assert x.shape == (n, 256, 256) and x.dtype == np.uint8
    assert y.shape == sub.shape == pid.shape == (n,)
    assert np.bincount(y).tolist() == counts
    assert np.bincount(sub).tolist() == subtypes
    assert np.array_equal(y, (sub > 0).astype(y.dtype))      # subtype 1/2 is pneumonia
    assert len(set(pid.tolist())) == n                         # one image per patient
    assert 0 < x.std() and x.min() < 30 and x.max() > 220      # real images, not blank


def _person(p: str) -> str:
    """personNNN_bacteria and personNNN_virus are the same child: group on personNNN."""
    return re.sub(r"_(bacteria|virus)$", "", p)


def test_chestxray256_patient_disjoint_splits():
    pats = {s: set(datasets.load_chestxray256(s)[3].tolist()) for s in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not pats[a] & pats[b]
        assert not {_person(p) for p in pats[a]} & {_person(p) for p in pats[b]}


def test_chestxray256_no_identical_image_across_splits():
    digests = {s: {hashlib.sha1(im.tobytes()).hexdigest() for im in datasets.load_chestxray256(s)[0]}
               for s in ("train", "val", "test")}
    assert not digests["train"] & digests["val"] and not digests["train"] & digests["test"]
    assert not digests["val"] & digests["test"]


def test_chestxray256_index_csv_matches():
    path = datasets.verify("chestxray256_index.csv")
    rows = list(csv.DictReader(open(path, newline="")))
    assert len(rows) == 670
    for split in ("train", "val", "test"):
        _, y, sub, pid = datasets.load_chestxray256(split)
        mine = sorted((r for r in rows if r["split"] == split), key=lambda r: int(r["index"]))
        assert [r["patient"] for r in mine] == pid.tolist()
        assert [int(r["label"]) for r in mine] == y.tolist()
        assert [int(r["subtype"]) for r in mine] == sub.tolist()


def test_chestxray256_checksum_and_bad_split(tmp_path, monkeypatch):
    assert datasets.CHECKSUMS["chestxray256.npz"] == hashlib.sha256(
        (datasets.DATA_DIR / "chestxray256.npz").read_bytes()).hexdigest()
    assert "chestxray256" in datasets.list_datasets()
    with pytest.raises(ValueError, match="split"):
        datasets.load_chestxray256("validation")
    # a truncated copy in another data folder is refused with the restore hint
    data = (datasets.DATA_DIR / "chestxray256.npz").read_bytes()
    (tmp_path / "chestxray256.npz").write_bytes(data[: len(data) // 2])
    monkeypatch.setenv("MEDLAB_DATA", str(tmp_path))
    with pytest.raises(DatasetError, match="sha256"):
        datasets.load_chestxray256("val")
    (tmp_path / "chestxray256.npz").unlink()
    with pytest.raises(DatasetError, match="missing"):
        datasets.load_chestxray256("val")


# --------------------------------------------------------------------------- numpy: gradient descent
from medlab import ops, training as T  # noqa: E402


def test_bce_matches_keras_and_grad_matches_finite_differences():
    import keras

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50).astype(float)
    z = rng.normal(size=50) * 3
    p = ops.sigmoid(z)
    ref = float(keras.losses.BinaryCrossentropy()(y, p))
    assert abs(T.bce_loss(y, p) - ref) < 1e-5
    g = T.bce_grad(y, z)
    eps = 1e-6
    for i in range(5):
        zp, zm = z.copy(), z.copy()
        zp[i] += eps
        zm[i] -= eps
        fd = (T.bce_loss(y, ops.sigmoid(zp), eps=1e-15) - T.bce_loss(y, ops.sigmoid(zm), eps=1e-15)) / (2 * eps)
        assert abs(fd - g[i]) < 1e-6


def test_linear_layers_collapse_to_one_map():
    rng = np.random.default_rng(1)
    ws = [rng.normal(size=(4, 8)), rng.normal(size=(8, 3)), rng.normal(size=(3, 2))]
    bs = [rng.normal(size=8), rng.normal(size=3), rng.normal(size=2)]
    x = rng.normal(size=(10, 4))
    h = x
    for w, b in zip(ws, bs):
        h = h @ w + b
    W, b = T.linear_collapse(ws, bs)
    np.testing.assert_allclose(h, x @ W + b, atol=1e-12)
    with pytest.raises(ValueError, match="rows"):
        T.linear_collapse([np.ones((2, 3)), np.ones((2, 2))], [np.ones(3), np.ones(2)])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_optimizers_follow_keras_step_by_step(optimizer):
    import keras
    import tensorflow as tf

    s = T.SURFACES["rosenbrock"]
    ours = T.optimize(s, optimizer, lr=0.01, steps=25)
    opt = {"sgd": keras.optimizers.SGD(0.01), "momentum": keras.optimizers.SGD(0.01, momentum=0.9),
           "adam": keras.optimizers.Adam(0.01)}[optimizer]
    v = tf.Variable(np.array(s.start), dtype=tf.float64)
    path = [v.numpy().copy()]
    for _ in range(25):
        opt.apply_gradients([(tf.constant(s.grad(v.numpy())), v)])
        path.append(v.numpy().copy())
    # Keras keeps lr/momentum in float32: agreement to float32 precision, not bit for bit
    np.testing.assert_allclose(ours, np.array(path), rtol=1e-4, atol=1e-6)


def test_learning_rate_too_small_right_too_large():
    small = T.gradient_descent("bowl", 0.001, 100)[1][-1]
    right = T.gradient_descent("bowl", 0.15, 100)[1][-1]
    big = T.gradient_descent("bowl", 0.21, 200)[1]
    assert right < 1e-6 < small
    assert not np.isfinite(big[-1])                # diverged (curvature 10: lr > 2/10)
    with pytest.raises(ValueError, match="lr"):
        T.optimize("bowl", "sgd", lr=0.0)
    with pytest.raises(ValueError, match="lr"):
        T.optimize("bowl", "sgd", lr=-1.0)
    with pytest.raises(ValueError, match="optimizer"):
        T.optimize("bowl", "rmsprop")
    with pytest.raises(ValueError, match="steps"):
        T.optimize("bowl", "sgd", steps=10**7)


def test_learn_kernel_recovers_an_edge_filter_on_the_ct_slice():
    from medlab.datasets import load_lung_ct

    ct = np.clip(load_lung_ct().array[15].astype(float)[::4, ::4], -1000, 400)
    fit_ = T.learn_kernel(ct, ops.KERNELS["sobel_x"], lr=0.05, steps=300, optimizer="momentum")
    assert fit_.kernels.shape == (301, 3, 3) and fit_.loss[-1] < 1e-6 * fit_.loss[0]
    assert fit_.error < 0.01
    # the gradient it used is the finite-difference gradient of the loss
    x = (ct - ct.mean()) / ct.std()
    y = ops.conv2d(x, ops.KERNELS["sobel_x"])
    w = fit_.kernels[3]
    loss, g = T.mse_conv_loss(x, w, y)
    e = np.zeros((3, 3)); e[1, 2] = 1e-6
    fd = (T.mse_conv_loss(x, w + e, y)[0] - T.mse_conv_loss(x, w - e, y)[0]) / 2e-6
    assert abs(fd - g[1, 2]) < 1e-6 * max(1, abs(g[1, 2]))
    with pytest.raises(ValueError, match="lr"):
        T.learn_kernel(ct, ops.KERNELS["sobel_x"], lr=0)


# --------------------------------------------------------------------------- Keras models
def _derived_seed_cnn(h: int, w: int):
    """Layer output shapes and parameters of the article's model, from the formulas of 02/03."""
    h1, w1 = ops.output_size(h, 3), ops.output_size(w, 3)
    h2, w2 = ops.output_size(h1, 2, stride=2), ops.output_size(w1, 2, stride=2)
    h3, w3 = ops.output_size(h2, 3), ops.output_size(w2, 3)
    h4, w4 = ops.output_size(h3, 2, stride=2), ops.output_size(w3, 2, stride=2)
    return [((h1, w1, 32), ops.conv_params(3, 3, 1, 32)), ((h2, w2, 32), 0),
            ((h3, w3, 64), ops.conv_params(3, 3, 32, 64)), ((h4, w4, 64), 0),
            ((h4 * w4 * 64,), 0), ((1,), ops.dense_params(h4 * w4 * 64, 1))]


@pytest.mark.parametrize("size,total,dense", [(28, 20417, 1601), (256, 264833, 246017)])
def test_seed_cnn_shapes_and_params_equal_the_formulas(size, total, dense):
    m = T.seed_cnn((size, size, 1))
    rows = T.param_table(m)
    derived = _derived_seed_cnn(size, size)
    assert [(r["output_shape"], r["params"]) for r in rows] == derived
    assert m.count_params() == total == sum(p for _, p in derived)
    assert rows[-1]["params"] == dense
    assert [r["type"] for r in rows] == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert m.inputs and m.outputs                         # functional: explainability can use them
    assert m.loss == "binary_crossentropy" and m.optimizer.__class__.__name__ == "Adam"


def test_medlab_cnn_head_is_size_independent():
    small, big = T.medlab_cnn((28, 28, 1)), T.medlab_cnn((64, 64, 1))
    assert small.count_params() == big.count_params() == 23697
    assert small.get_layer("dense").count_params() == 65


def test_medlab_cnn_filters_widths_and_bad_widths():
    # params: 3x3 convs without bias + BN (4 per channel) + Dense(w3 + 1), derived by hand
    def derived(w1, w2, w3):
        return 9 * w1 + 4 * w1 + 9 * w1 * w2 + 4 * w2 + 9 * w2 * w3 + 4 * w3 + w3 + 1
    assert derived(16, 32, 64) == 23697
    assert T.medlab_cnn(filters=(24, 48, 96)).count_params() == derived(24, 48, 96)
    for bad, match in (((16, 32), "filters"), ("abc", "filters"), ((16, 0, 64), r"filters\[1\]"),
                       ((16, 32, 10_000), r"filters\[2\]")):
        with pytest.raises(ValueError, match=match):
            T.medlab_cnn(filters=bad)


@pytest.mark.parametrize("bad,exc,match", [((28,), ValueError, "input_shape"), ((4, 4, 1), ValueError, "height"),
                                            ("28", TypeError, "input_shape"), ((28, 28, 0), ValueError, "channels")])
def test_builders_reject_bad_shapes(bad, exc, match):
    with pytest.raises(exc, match=match):
        T.seed_cnn(bad)


def test_learning_rate_must_be_positive():
    for lr in (0.0, -1e-3):
        with pytest.raises(ValueError, match="learning_rate"):
            T.seed_cnn((28, 28, 1), learning_rate=lr)
        with pytest.raises(ValueError, match="learning_rate"):
            T.medlab_cnn(learning_rate=lr)


def test_augmentation_has_no_flip_and_is_plausible():
    aug = T.augmentation()
    names = [l.__class__.__name__ for l in aug.layers]
    assert "RandomFlip" not in names and names == ["RandomTranslation", "RandomRotation", "RandomZoom",
                                                   "RandomContrast"]
    x = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(1, 28, 28, 1)
    assert np.array_equal(np.asarray(aug(x, training=False)), x)      # inactive at inference
    out = np.asarray(aug(np.repeat(x, 4, 0), training=True))
    assert out.shape == (4, 28, 28, 1) and not np.allclose(out, x)
    with pytest.raises(ValueError, match="rotation_deg"):
        T.augmentation(rotation_deg=90)


# --------------------------------------------------------------------------- fit, runs
@pytest.fixture(scope="module")
def subset():
    x, y = datasets.load_pneumoniamnist("train")
    idx = np.random.default_rng(0).permutation(len(x))[:256]       # the train split is ordered: shuffle
    xv, yv = datasets.load_pneumoniamnist("val")
    return (x[idx], y[idx]), (xv[:96], yv[:96])


def test_fit_same_seed_identical_weights_and_history(subset, tmp_path):
    train, val = subset
    runs = []
    for _ in range(2):
        m = T.seed_cnn((28, 28, 1), seed=3)
        runs.append(T.fit(m, train, val, epochs=1, seed=3, run_dir=tmp_path))
    a, b = runs
    assert all(np.array_equal(u, v) for u, v in zip(a.model.get_weights(), b.model.get_weights()))
    assert a.history == b.history and [r["loss"] for r in a.batch_history] == [r["loss"] for r in b.batch_history]
    assert a.name != b.name and a.status == "completed" and a.epochs_run == 1
    assert len(a.batch_history) == 8 and a.images_per_s > 0 and a.wall_time_s > 0
    assert a.config["epochs"] == 1 and a.config["batch_size"] == 32     # article default batch
    assert a.config["data_sha256"]["train_images"] == hashlib.sha256(train[0].tobytes()).hexdigest()
    # a different seed gives different weights
    c = T.fit(T.seed_cnn((28, 28, 1), seed=4), train, val, epochs=1, seed=4, run_dir=tmp_path)
    assert not np.array_equal(c.model.get_weights()[0], a.model.get_weights()[0])


def test_run_folder_claim_is_race_free(tmp_path):
    # many threads claiming the same base name at once (two kernels starting a run in the same second)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(lambda _: T._claim_run_folder(tmp_path, "20261203-101500-seed_cnn-s0"), range(40)))
    assert len(set(names)) == 40 and names.count("20261203-101500-seed_cnn-s0") == 1
    assert all((tmp_path / n).is_dir() for n in names)


def test_run_saved_listed_reloaded_and_predict_uses_fit_preprocessing(subset, tmp_path):
    train, val = subset
    run = T.fit(T.tiny_cnn(), train, val, epochs=1, run_dir=tmp_path)
    p = run.predict(val[0])
    ref = run.model.predict(val[0][..., None].astype(np.float32) / 255.0, verbose=0).reshape(-1)
    np.testing.assert_allclose(p, ref, rtol=1e-6)
    assert p.shape == (96,) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(run.predict(val[0][..., None]), p)      # a channel axis is optional
    listed = T.list_runs(tmp_path)
    assert [r["name"] for r in listed] == [run.name] and listed[0]["model"] == "tiny_cnn"
    meta = __import__("json").loads((run.path / "run.json").read_text())
    assert meta["config"]["data_files_sha256"]["pneumoniamnist.npz"] == datasets.CHECKSUMS["pneumoniamnist.npz"]
    again = T.load_run(run.name, tmp_path)
    np.testing.assert_allclose(again.predict(val[0]), p, rtol=1e-6)
    assert again.history == run.history and again.config == __import__("json").loads(
        __import__("json").dumps(run.config))
    with pytest.raises(ValueError, match="no such run"):
        T.load_run("does-not-exist", tmp_path)
    with pytest.raises(ValueError, match="name"):
        T.load_run("../etc", tmp_path)


def test_stop_leaves_a_saved_loadable_model(subset, tmp_path):
    import keras

    train, val = subset

    class StopAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                T.request_stop(self.model)

    m = T.seed_cnn((28, 28, 1))
    run = T.fit(m, train, val, epochs=5, run_dir=tmp_path, callbacks=[StopAt()])
    assert run.status == "stopped" and run.epochs_run == 1
    assert len(run.batch_history) == 3                    # stopped right after the batch that asked
    loaded = T.load_run(run.name, tmp_path)
    assert loaded.status == "stopped"
    np.testing.assert_allclose(loaded.predict(val[0]), run.predict(val[0]), rtol=1e-6)
    assert all(np.array_equal(u, v) for u, v in zip(loaded.model.get_weights(), m.get_weights()))


def test_failed_save_keeps_the_previous_model(tmp_path):
    m = T.tiny_cnn()
    target = tmp_path / "model.keras"
    T.save_model_atomic(m, target)
    good = target.read_bytes()
    m2 = T.tiny_cnn(seed=9)

    def broken_save(path, *a, **k):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    m2.save = broken_save
    with pytest.raises(OSError, match="disk full"):
        T.save_model_atomic(m2, target)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]     # no temporary file left
    import keras

    keras.saving.load_model(target)
    with pytest.raises(ValueError, match=".keras"):
        T.save_model_atomic(m, tmp_path / "model.h5")


def test_writers_use_the_shared_write_guards(tmp_path, monkeypatch):
    """runs_dir, save_model_atomic, TrainingRun.save never write into a data folder or over a data file."""
    m = T.tiny_cnn()
    data = datasets.DATA_DIR
    for bad in (data, data / "runs", data / "a" / "b"):
        with pytest.raises(ValueError, match="data folder"):
            T.runs_dir(bad)
    monkeypatch.setenv("MEDLAB_RUNS", str(data / "runs"))
    with pytest.raises(ValueError, match="MEDLAB_RUNS .* data folder"):
        T.runs_dir()
    monkeypatch.setenv("MEDLAB_RUNS", str(tmp_path / "env-runs"))
    assert T.runs_dir() == (tmp_path / "env-runs").resolve()
    monkeypatch.delenv("MEDLAB_RUNS")
    # a copy of the data folder elsewhere (it carries SHA256SUMS) is a data folder too
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "SHA256SUMS").write_text("")
    with pytest.raises(ValueError, match="data folder"):
        T.runs_dir(copy / "runs")
    with pytest.raises(ValueError, match="data folder"):
        T.save_model_atomic(m, copy / "model.keras")
    with pytest.raises(ValueError, match="data folder"):
        T.save_model_atomic(m, data / "model.keras")
    assert not (data / "model.keras").exists() and not list(data.glob(".model.*"))
    # an existing embedded data file is never overwritten, wherever it lies
    fake = tmp_path / "pneumoniamnist.keras"
    fake.write_bytes((data / "pneumoniamnist.npz").read_bytes())
    with pytest.raises(ValueError, match="copy of an embedded data file"):
        T.save_model_atomic(m, fake)
    assert fake.read_bytes() == (data / "pneumoniamnist.npz").read_bytes()
    # a folder is not a file; a file is not a run folder
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(ValueError, match="existing folder"):
        T.save_model_atomic(m, tmp_path / "dir.keras")
    with pytest.raises(ValueError, match="existing file"):
        T.runs_dir(fake)
    with pytest.raises(TypeError, match="run_dir"):
        T.runs_dir(3)
    # a run whose folder was pointed into the data folder refuses to save
    run = T.TrainingRun(name="x", config={}, history={}, batch_history=[], wall_time_s=0.0, images_per_s=0.0,
                        best_epoch=0, status="completed", model=m, path=data / "runs" / "x")
    with pytest.raises(ValueError, match="data folder"):
        run.save()
    assert not (data / "runs").exists()


def test_cosine_schedule_equals_keras_cosine_decay(subset, tmp_path, monkeypatch):
    import keras

    train, val = subset                                     # 256 training images
    monkeypatch.setitem(T.RECIPES, "tiny_cnn", {**T.RECIPES["tiny_cnn"], "schedule": "cosine"})
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(np.asarray(self.model.optimizer.learning_rate)))

    m = T.tiny_cnn(learning_rate=4e-3)
    run = T.fit(m, train, val, epochs=2, batch_size=64, run_dir=tmp_path, callbacks=[Watch()])
    ref = keras.optimizers.schedules.CosineDecay(4e-3, 2 * 4)
    np.testing.assert_allclose(seen, [float(ref(s)) for s in range(8)], rtol=1e-5)   # float32
    assert float(np.asarray(m.optimizer.learning_rate)) == pytest.approx(4e-3)      # put back after the run
    assert run.config["schedule"].startswith("cosine") and run.config["learning_rate"] == pytest.approx(4e-3)


def test_medlab_recipe_defaults_cosine_label_smoothing_best_epoch(subset, tmp_path):
    import keras

    train, val = subset
    m = T.medlab_cnn()
    assert isinstance(m.loss, keras.losses.BinaryCrossentropy) and m.loss.get_config()["label_smoothing"] == 0.1
    assert float(np.asarray(m.optimizer.learning_rate)) == pytest.approx(3e-3)
    with pytest.raises(ValueError, match="label_smoothing"):
        T.medlab_cnn(label_smoothing=0.7)
    best = {}

    class Keep(keras.callbacks.Callback):                 # the weights after every epoch
        def on_epoch_end(self, epoch, logs=None):
            best[epoch] = [w.copy() for w in self.model.get_weights()]

    run = T.fit(m, train, val, epochs=3, run_dir=tmp_path, callbacks=[Keep()])
    assert run.status == "completed" and run.epochs_run == 3          # restores, never stops early
    assert run.config["restore_best_epoch"] and run.config["early_stopping_patience"] is None
    assert run.config["schedule"].startswith("cosine") and run.config["batch_size"] == 64
    assert run.best_epoch == int(np.argmin(run.history["val_loss"]))
    assert all(np.array_equal(u, v) for u, v in zip(m.get_weights(), best[run.best_epoch]))


def test_weight_average_is_validated_and_restored_and_mixup_is_deterministic(subset, tmp_path, monkeypatch):
    """An optimizer with use_ema: val_* measure the averaged weights, and the best epoch's *averaged* weights are
    restored (Keras' EarlyStopping would restore the raw ones); the recipe key "mixup" is seeded."""
    import keras

    train, val = subset
    monkeypatch.setitem(T.RECIPES, "tiny_cnn", {**T.RECIPES["tiny_cnn"], "restore_best": True, "mixup": 0.2,
                                                "class_weight": "balanced"})
    seen = {}

    class Keep(keras.callbacks.Callback):               # the moving average after every epoch
        def on_epoch_end(self, epoch, logs=None):
            opt = self.model.optimizer
            seen[epoch] = [a.numpy().copy() for a in opt._model_variables_moving_average]

    runs = []
    for _ in range(2):
        m = T.tiny_cnn(seed=1)
        m.compile(optimizer=keras.optimizers.Adam(3e-3, use_ema=True, ema_momentum=0.9), loss="binary_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
        runs.append(T.fit(m, train, val, epochs=3, seed=1, run_dir=tmp_path, callbacks=[Keep()]))
    a, b = runs
    assert all(np.array_equal(u, v) for u, v in zip(a.model.get_weights(), b.model.get_weights()))
    assert a.history == b.history
    assert a.config["restore_best_epoch"] and a.config["weight_average"].startswith("EMA")
    assert a.config["mixup"] == 0.2 and a.config["early_stopping_patience"] is None
    assert a.best_epoch == int(np.argmin(a.history["val_loss"]))
    for w, ref in zip(a.model.trainable_variables, seen[a.best_epoch]):
        np.testing.assert_array_equal(w.numpy(), ref)
    # the restored (averaged) weights are the ones that were validated
    ev = a.model.evaluate(T.prepare_images(val[0]), val[1].astype("float32"), verbose=0, return_dict=True)
    assert ev["loss"] == pytest.approx(a.history["val_loss"][a.best_epoch], rel=1e-4)


def test_fit_accepts_tf_datasets(subset, tmp_path):
    import tensorflow as tf

    train, val = subset
    ds = tf.data.Dataset.from_tensor_slices((T.prepare_images(train[0]), train[1].astype(np.float32)))
    vds = tf.data.Dataset.from_tensor_slices((T.prepare_images(val[0]), val[1].astype(np.float32)))
    run = T.fit(T.tiny_cnn(), ds, vds, epochs=1, batch_size=64, run_dir=tmp_path)
    assert run.epochs_run == 1 and "val_loss" in run.history and len(run.batch_history) == 4


def _bad(subset):
    (x, y), _ = subset
    nan = x.astype(np.float32) / 255
    nan[0, 0, 0] = np.nan
    return [
        (dict(train=(x[:, :20, :20], y)), ValueError, "expects"),                  # wrong size for the model
        (dict(train=(x[0], y[:1])), ValueError, "3-D or 4-D"),                       # wrong rank
        (dict(train=(x, y + 1)), ValueError, "0/1"),                                  # labels not 0/1
        (dict(train=(nan, y)), ValueError, "NaN"),
        (dict(train=(x[:0], y[:0])), ValueError, "at least"),                         # empty
        (dict(train=(x, y[:10])), ValueError, "entries"),
        (dict(train=(x, y), batch_size=0), ValueError, "batch_size"),
        (dict(train=(x, y), epochs=0), ValueError, "epochs"),
        (dict(train=(x, y), epochs=10**6), ValueError, "epochs"),
        (dict(train=x), TypeError, "train"),
        (dict(train=(x, y), class_weight="auto"), TypeError, "class_weight"),
        (dict(train=(x, y), run_dir=datasets.DATA_DIR / "runs"), ValueError, "data folder"),
    ]


def test_fit_bad_input_clear_errors(subset, tmp_path):
    m = T.tiny_cnn()
    for kwargs, exc, match in _bad(subset):
        kwargs.setdefault("run_dir", tmp_path)
        with pytest.raises(exc, match=match):
            T.fit(m, **kwargs)
    with pytest.raises(TypeError, match="model"):
        T.fit("model", subset[0])
    assert not (datasets.DATA_DIR / "runs").exists()
    assert not list(tmp_path.iterdir())                  # nothing was written for a refused call


def test_threshold_and_evaluate_against_sklearn():
    from sklearn.metrics import accuracy_score, roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    t = T.choose_threshold(y, p)
    acc = np.mean((p >= t) == (y == 1))
    assert acc >= max(np.mean((p >= c) == (y == 1)) for c in np.linspace(0, 1, 101))
    e = T.evaluate(y, p, t)
    assert e["auc"] == pytest.approx(roc_auc_score(y, p)) and e["accuracy"] == pytest.approx(
        accuracy_score(y, p >= t))
    # the prevalence-free criterion: the highest balanced accuracy (sklearn's) over every threshold
    from sklearn.metrics import balanced_accuracy_score

    y2 = np.r_[np.ones(150, int), np.zeros(50, int)]                     # validation prevalence 75 %
    p2 = np.clip(0.35 * y2 + rng.random(200) * 0.65, 0, 1)
    tb = T.choose_threshold(y2, p2, "balanced")
    best = max(balanced_accuracy_score(y2, p2 >= c) for c in np.linspace(0, 1, 1001))
    assert balanced_accuracy_score(y2, p2 >= tb) >= best - 1e-12
    assert T.choose_threshold(y2, p2) < tb                 # accuracy at 75 % prevalence favours "pneumonia"
    with pytest.raises(ValueError, match="criterion"):
        T.choose_threshold(y2, p2, "youden")
    with pytest.raises(ValueError, match="both classes"):
        T.choose_threshold(np.ones(4, int), [0.1, 0.2, 0.3, 0.4], "balanced")


# --------------------------------------------------------------------------- transfer learning
def test_transfer_model_freezes_and_unfreezes():
    src = T.medlab_cnn()
    tm = T.transfer_model(src, freeze=True)
    bb = tm.get_layer("backbone")
    assert not bb.trainable and len(tm.trainable_weights) == 2        # only the new Dense head learns
    for a, b in zip(bb.get_weights(), T.backbone(src).get_weights()):
        np.testing.assert_array_equal(a, b)
    T.set_backbone_trainable(tm, True)
    assert len(tm.trainable_weights) > 2


def test_imagenet_path_fails_offline_with_a_clear_message(monkeypatch):
    import keras

    def offline(*a, **k):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -3] name resolution")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    with pytest.raises(RuntimeError, match="offline"):
        T.imagenet_backbone("MobileNetV2", (96, 96, 3))
    with pytest.raises(ValueError, match="3 channels"):
        T.imagenet_backbone("MobileNetV2", (96, 96, 1))
