"""Exercise checks of 10 (medlab.exercises.fusion): right → True, typical wrong answers → False with a specific
hint, None → unanswered, an unjudgeable type → TypeError."""
from __future__ import annotations

import numpy as np
import pytest

from medlab import evaluation as E
from medlab import fusion as FU
from medlab.exercises import fusion as ex


@pytest.fixture(scope="module")
def cnn():
    pytest.importorskip("tensorflow")
    from medlab.training import seed_cnn
    return seed_cnn((28, 28, 1), seed=0)


@pytest.fixture(scope="module")
def joint():
    pytest.importorskip("tensorflow")
    return FU.joint_model((28, 28), 50, seed=0)


def _unanswered(fb):
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_late_fusion_and_n_models():
    e = ex.LATE_EXAMPLE
    assert ex.check_late_fusion(e["weight"] * e["p_cnn"] + (1 - e["weight"]) * e["p_svm"])
    assert "swapped" in ex.check_late_fusion((1 - e["weight"]) * e["p_cnn"] + e["weight"] * e["p_svm"]).message
    _unanswered(ex.check_late_fusion(None))
    assert ex.check_n_models(31, 5) and "Subtract one" in ex.check_n_models(32, 5).hint
    _unanswered(ex.check_n_models(None, 5))
    with pytest.raises(TypeError):
        ex.check_n_models("31", 5)


def test_embedding_length(cnn):
    c = int(FU.embedding(cnn, np.zeros((1, 28, 28), np.uint8)).shape[1])   # what embedding() really returns
    assert c == 64
    assert ex.check_embedding_length(c, cnn, image_size=64)
    assert ex.check_embedding_length(float(c), cnn, image_size=32)
    maps = FU.embedding_layer(cnn).output.shape
    for wrong, hint in [(64 * 64, "not the pixels"), (int(maps[1] * maps[2] * c), "Flattening"),
                        (round(c * 64 * 64 / 784), "does not depend"), (c * 9, "Flattening"), (7, "axes")]:
        fb = ex.check_embedding_length(wrong, cnn, image_size=64)
        assert not fb and hint in str(fb), (wrong, fb)
    _unanswered(ex.check_embedding_length(None, cnn))
    with pytest.raises(TypeError):
        ex.check_embedding_length("64", cnn)
    with pytest.raises(TypeError, match="keras.Model"):
        ex.check_embedding_length(64, "not a model")


def test_fuse_width(joint):
    assert ex.check_fuse_width(48, joint)                       # 32 (image GAP) + 16 (feature Dense)
    for wrong, hint in [(32 + 50, "Dense(16)"), (32, "both branches"), (16, "both branches"),
                        (64 + 16, "own image branch"), (100, "Conv 16")]:
        fb = ex.check_fuse_width(wrong, joint)
        assert not fb and hint in str(fb), (wrong, fb)
    _unanswered(ex.check_fuse_width(None, joint))
    with pytest.raises(TypeError):
        ex.check_fuse_width([48], joint)


def test_fuse_width_refuses_other_models(cnn):
    with pytest.raises(TypeError, match="joint_model"):
        ex.check_fuse_width(48, cnn)


def _scores():
    rng = np.random.default_rng(1)
    n = 400
    y = rng.integers(0, 2, n)
    ref = y + rng.normal(0, 1.0, n)
    return y, ref, {"much better": y + rng.normal(0, 0.3, n),                             # significantly higher
                    "a little higher": ref + np.random.default_rng(105).normal(0, 0.4, n),  # ΔAUC > 0, p ≈ 0.97
                    "worse": y + rng.normal(0, 3.0, n)}                                   # significantly lower


def test_significant_gains():
    y, ref, fus = _scores()
    t = {k: E.delong_test(y, s, ref) for k, s in fus.items()}
    assert t["much better"]["delta"] > 0 and t["much better"]["p"] < 0.05
    assert t["a little higher"]["delta"] > 0 and t["a little higher"]["p"] > 0.05
    assert t["worse"]["delta"] < 0 and t["worse"]["p"] < 0.05
    assert ex.check_significant_gains(1, y, fus, ref)
    assert "within noise" in ex.check_significant_gains(1, y, fus, ref).message
    fb = ex.check_significant_gains(2, y, fus, ref)        # both higher ones, or both significant ones
    assert not fb and ("p < 0.05" in fb.hint or "*and*" in fb.hint)
    assert "p < 0.05" in ex.check_significant_gains(2, y, {k: fus[k] for k in ("much better", "a little higher")},
                                                     ref).hint
    assert "*and*" in ex.check_significant_gains(2, y, {k: fus[k] for k in ("much better", "worse")}, ref).hint
    assert "p-value" in ex.check_significant_gains(3, y, fus, ref).hint
    assert not ex.check_significant_gains(0, y, fus, ref)
    _unanswered(ex.check_significant_gains(None, y, fus, ref))
    with pytest.raises(TypeError):
        ex.check_significant_gains("one", y, fus, ref)
    with pytest.raises(TypeError, match="dict"):
        ex.check_significant_gains(1, y, [ref], ref)


def test_leak_auc_matches_a_simulation():
    y = np.random.default_rng(1).integers(0, 2, 40000)
    for agreement in (0.6, 0.8, 0.9):
        auc = E.roc_auc(y, FU.leaky_clinical_feature(y, agreement=agreement, seed=2))
        assert abs(auc - (1 + agreement) / 2) < 0.006
    fb = ex.check_leak_auc(0.9, 0.8)
    assert fb and "miss" in fb.message
    assert "right at" in ex.check_leak_auc(0.95, 0.9).message
    assert "coin" in ex.check_leak_auc(0.8, 0.8).hint
    assert "percentage" in ex.check_leak_auc(90, 0.8).message
    assert not ex.check_leak_auc(0.5, 0.8)
    _unanswered(ex.check_leak_auc(None, 0.8))
    with pytest.raises(TypeError):
        ex.check_leak_auc(True, 0.8)


def test_patch_overlap():
    assert ex.check_patch_overlap(0.75, 32, 8) and ex.check_patch_overlap(0.5, 16, 8)
    assert "not* shared" in ex.check_patch_overlap(0.25, 32, 8).message
    assert "diagonal" in ex.check_patch_overlap(0.5625, 32, 8).message
    assert "percentage" in ex.check_patch_overlap(75, 32, 8).message
    assert not ex.check_patch_overlap(1.0, 32, 8)
    assert ex.check_patch_overlap(0, 8, 16)                      # stride larger than the patch: no overlap
    _unanswered(ex.check_patch_overlap(None, 32, 8))
    with pytest.raises(TypeError):
        ex.check_patch_overlap("3/4", 32, 8)
    with pytest.raises(ValueError, match="size_mm"):
        ex.check_patch_overlap(0.75, 0, 8)


def test_leak_name():
    screen = [{"feature": "clinical", "auc": 0.97, "alarm": True}, {"feature": "fo_mean", "auc": 0.8, "alarm": False}]
    assert ex.check_leak_name("clinical", screen) and not ex.check_leak_name("fo_mean", screen)
    _unanswered(ex.check_leak_name(None, screen))
    with pytest.raises(TypeError):
        ex.check_leak_name(3, screen)
