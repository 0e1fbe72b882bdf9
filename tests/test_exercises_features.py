"""Tests for medlab.exercises.features: right -> True, typical mistakes -> False with a hint, None -> unanswered."""
from __future__ import annotations

import numpy as np
import pytest
import pywt
from skimage.feature import graycomatrix, graycoprops

from medlab.exercises import Feedback
from medlab.exercises import features as E


def test_unanswered():
    for check in (E.check_glcm_4x4, E.check_glcm_contrast, E.check_haar_block, E.check_sens_spec,
                  E.check_scaler_fit):
        fb = check(None)
        assert isinstance(fb, Feedback) and not fb and "no answer yet" in fb.message


def test_glcm_4x4():
    right = graycomatrix(E.EXAMPLE_4X4, [1], [0], levels=4)[:, :, 0, 0]
    assert E.check_glcm_4x4(right)
    assert E.check_glcm_4x4(right.tolist())
    fb = E.check_glcm_4x4(right.T)
    assert not fb and "right neighbour" in fb.hint
    fb = E.check_glcm_4x4(right + right.T)
    assert not fb and "symmetric" in fb.hint.lower()
    fb = E.check_glcm_4x4(right / right.sum())
    assert not fb and "counts" in fb.hint
    wrong = right.copy()
    wrong[0, 0] += 1
    fb = E.check_glcm_4x4(wrong)
    assert not fb and fb.hint and "1 of the 16" in fb.message
    with pytest.raises(TypeError, match="shape"):
        E.check_glcm_4x4(np.zeros((3, 3)))


def test_glcm_contrast():
    P = graycomatrix(E.EXAMPLE_4X4, [1], [0], levels=4, symmetric=True, normed=True)
    right = graycoprops(P, "contrast")[0, 0]
    assert E.check_glcm_contrast(right)
    fb = E.check_glcm_contrast(graycoprops(P, "dissimilarity")[0, 0])
    assert not fb and "dissimilarity" in fb.hint
    counts = graycomatrix(E.EXAMPLE_4X4, [1], [0], levels=4, symmetric=True)[:, :, 0, 0]
    i, j = np.indices(counts.shape)
    fb = E.check_glcm_contrast(((i - j) ** 2 * counts).sum())
    assert not fb and "Normalise" in fb.hint
    assert not E.check_glcm_contrast(right + 1).correct
    with pytest.raises(TypeError):
        E.check_glcm_contrast("high")


def test_haar_block():
    cA, (cH, cV, cD) = pywt.dwt2(E.HAAR_BLOCK, "haar")
    right = [cA.item(), cH.item(), cV.item(), cD.item()]
    assert E.check_haar_block(right)
    fb = E.check_haar_block(np.array(right) / 2)
    assert not fb and "2" in fb.hint
    fb = E.check_haar_block([right[0], -right[1], right[2], right[3]])
    assert not fb and "sign" in fb.message
    fb = E.check_haar_block([right[0], right[2], right[1], right[3]])
    assert not fb and "swapped" in fb.message
    with pytest.raises(TypeError, match="four numbers"):
        E.check_haar_block([1, 2])


def test_sens_spec():
    c = E.CONFUSION
    sens, spec = c["tp"] / (c["tp"] + c["fn"]), c["tn"] / (c["tn"] + c["fp"])
    assert E.check_sens_spec((sens, spec))
    fb = E.check_sens_spec((spec, sens))
    assert not fb and "Swapped" in fb.message
    fb = E.check_sens_spec((c["tp"] / (c["tp"] + c["fp"]), spec))
    assert not fb and "precision" in fb.message
    assert not E.check_sens_spec((0.5, 0.5))
    with pytest.raises(TypeError):
        E.check_sens_spec(0.9)


def test_scaler_fit():
    assert E.check_scaler_fit("train")
    assert E.check_scaler_fit(" Train ")
    fb = E.check_scaler_fit("train+val+test")
    assert not fb and fb.hint
    assert not E.check_scaler_fit("everything")
    with pytest.raises(TypeError):
        E.check_scaler_fit(1)


def test_example_4x4_is_the_widgets_patch_and_works_with_skimage():
    from medlab.samples import GLCM_EXAMPLE_NAME, glcm_example_4x4, glcm_patches

    assert np.array_equal(E.EXAMPLE_4X4, glcm_example_4x4())
    assert glcm_patches()[GLCM_EXAMPLE_NAME] is glcm_example_4x4()
    assert not glcm_example_4x4().flags.writeable             # the shared sample cannot be changed by a cell
    assert E.EXAMPLE_4X4.flags.writeable                      # scikit-image's Cython code needs a writable array
    graycomatrix(E.EXAMPLE_4X4, [1], [0], levels=4)


# ---------------------------------------------------------------- §1, §5, §6, §9 exercises (issue 13/14)
def test_first_order_exercise():
    from medlab.exercises.features import FO_VALUES, check_first_order

    assert check_first_order((FO_VALUES.mean(), FO_VALUES.std()))
    assert "N - 1" in str(check_first_order((FO_VALUES.mean(), FO_VALUES.std(ddof=1))))
    assert "median" in str(check_first_order((np.median(FO_VALUES), FO_VALUES.std())))
    assert "variance" in str(check_first_order((FO_VALUES.mean(), FO_VALUES.var())))
    assert not check_first_order(None)
    with pytest.raises(TypeError):
        check_first_order("mean")


def test_shape_disc_exercise():
    from medlab.exercises.features import SHAPE_MASK, SHAPE_SPACING, check_shape_disc

    n = int(SHAPE_MASK.sum())
    area = n * SHAPE_SPACING[0] * SHAPE_SPACING[1]
    d = 2 * np.sqrt(area / np.pi)
    assert check_shape_disc((area, d))
    assert "pixels" in str(check_shape_disc((n, d)))
    assert "radius" in str(check_shape_disc((area, d / 2)))
    assert not check_shape_disc((area, d + 1))
    with pytest.raises(TypeError):
        check_shape_disc([1, 2, 3])


def test_patient_overlap_exercise():
    from medlab.exercises.features import PATIENT_SPLIT, check_patient_overlap

    right = sum(p in set(PATIENT_SPLIT["train"]) for p in PATIENT_SPLIT["val"])
    assert check_patient_overlap(right)
    assert not check_patient_overlap(0) and "overlap" in str(check_patient_overlap(0))
    assert not check_patient_overlap(right + 1)
    with pytest.raises(TypeError):
        check_patient_overlap("2")


def test_mcnemar_exercise_matches_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar

    from medlab.exercises.features import DISCORDANT, check_mcnemar

    b, c = DISCORDANT["b"], DISCORDANT["c"]
    assert check_mcnemar((abs(b - c) - 1) ** 2 / (b + c))
    assert np.isclose((abs(b - c) - 1) ** 2 / (b + c), mcnemar([[0, b], [c, 0]], exact=False).statistic)
    assert "continuity" in str(check_mcnemar((b - c) ** 2 / (b + c)))
    assert not check_mcnemar(1.0)
    with pytest.raises(TypeError):
        check_mcnemar("3.9")


def test_scaler_feedback_does_not_claim_new_patients():
    from medlab.exercises.features import check_scaler_fit

    assert "new patients" not in str(check_scaler_fit("train"))
