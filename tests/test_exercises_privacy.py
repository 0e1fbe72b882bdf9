"""Exercise checks of 11 added for §1, §3, §4, §6 and §9 (medlab.exercises.privacy): right → True, typical
wrong answers → False with a specific hint, None → unanswered, an unjudgeable type → TypeError. The checks of
§2, §5, §7 and §8 are tested in test_privacy.py."""
from __future__ import annotations

import math
import shutil

import pytest

from medlab import privacy as P
from medlab.datasets import data_dir
from medlab.exercises import privacy as ex


def _unanswered(fb):
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_identifying_is_judged_by_the_table():
    right = [k for k in ex.CANDIDATES if k not in ("SliceThickness", "KVP", "ConvolutionKernel", "Modality")]
    for k in right:
        assert P.profile_action(k)[0] != "K"
    for k in ("SliceThickness", "KVP", "ConvolutionKernel", "Modality"):
        with pytest.raises(ValueError, match="not in Table"):
            P.profile_action(k)
    assert ex.check_identifying(right) and ex.check_identifying(set(right)) and ex.check_identifying(tuple(right))
    for wrong, hint in [(right + ["KVP"], "acquisition parameter"),
                        ([k for k in right if k != "SeriesInstanceUID"], "archive"),
                        ([k for k in right if k != "AcquisitionDate"], "Dates"),
                        ([k for k in right if k != "AdditionalPatientHistory"], "Free text"),
                        ([k for k in right if k != "DeviceSerialNumber"], "hospital"),
                        ([k for k in right if k != "PatientWeight"], "characteristics")]:
        fb = ex.check_identifying(wrong)
        assert not fb and hint in fb.hint, (wrong, fb)
    assert "not among" in ex.check_identifying(right + ["PatientName"]).message
    _unanswered(ex.check_identifying(None))
    for bad in ("StationName", 3, [1, 2]):
        with pytest.raises(TypeError):
            ex.check_identifying(bad)


def _finding(keyword, kind):
    return P.Finding("f.dcm", keyword, "(0000,0000)", keyword, kind, "x")


def test_tool_gap_on_constructed_rows():
    rows = [{"keyword": "PatientAge", "medlab": "removed", "dicognito": "kept"},
            {"keyword": "PatientSex", "medlab": "emptied", "dicognito": "kept"},
            {"keyword": "PatientName", "medlab": "emptied", "dicognito": "replaced"},
            {"keyword": "StudyID", "medlab": "kept", "dicognito": "replaced"}]
    left = [_finding("PatientAge", "age"), _finding("PatientName", "name")]
    assert ex.check_tool_gap("PatientAge", rows, left)
    assert "audit does not flag" in ex.check_tool_gap("PatientSex", rows, left).message
    assert "did not keep" in ex.check_tool_gap("PatientName", rows, left).message
    assert "not a row" in ex.check_tool_gap("Rows", rows, left).message
    _unanswered(ex.check_tool_gap(None, rows, left))
    with pytest.raises(TypeError):
        ex.check_tool_gap(["PatientAge"], rows, left)


def test_tool_gap_on_the_embedded_ct(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(data_dir() / "lung_ct_dicom" / "1-01.dcm", src / "1-01.dcm")
    P.deidentify(src, tmp_path / "profile", key="k", report=False)
    P.run_dicognito(src, tmp_path / "dicognito", seed="classroom")
    diff = P.compare_outputs(src / "1-01.dcm", tmp_path / "profile" / "1-01.dcm", tmp_path / "dicognito" / "1-01.dcm",
                             names=("medlab", "dicognito"))
    left = P.audit(tmp_path / "dicognito" / "1-01.dcm")
    kept = {r["keyword"] for r in diff if r["dicognito"] == "kept" and r["medlab"] in ("removed", "emptied")}
    both = kept & {f.keyword for f in left}
    assert both, "the notebook's exercise needs at least one answer"
    for k in both:
        assert ex.check_tool_gap(k, diff, left)
    for k in kept - both:
        assert not ex.check_tool_gap(k, diff, left)


def test_uid_runs():
    uid = "1.2.840.113619.2.55.3.1234"
    assert ex.check_uid_runs(2, uid, ["classroom-key", "classroom-key", "other-key"])
    assert "not drawn at random" in ex.check_uid_runs(3, uid, ["a", "a", "b"]).message
    assert "key matters" in ex.check_uid_runs(1, uid, ["a", "a", "b"]).message
    assert ex.check_uid_runs(1, uid, ["a", "a"])
    assert not ex.check_uid_runs(5, uid, ["a", "b"])
    _unanswered(ex.check_uid_runs(None, uid, ["a"]))
    with pytest.raises(TypeError):
        ex.check_uid_runs("2", uid, ["a", "b"])
    with pytest.raises(TypeError):
        ex.check_uid_runs(2, None, ["a", "b"])


def test_dp_factor():
    eps = 4.683
    assert ex.check_dp_factor(math.exp(eps), eps)
    assert ex.check_dp_factor(math.exp(round(eps, 2)), eps)          # ε rounded to two decimals
    assert "weak" in ex.check_dp_factor(math.exp(eps), eps).message
    assert "strong" in ex.check_dp_factor(math.e, 1.0).message
    for wrong, hint in [(eps, "ε itself"), (math.exp(-eps), "e^−ε"), (10 ** eps, "10^ε"), (1 + eps, "1 + ε"),
                        (50, "not it")]:
        fb = ex.check_dp_factor(wrong, eps)
        assert not fb and hint in fb.message, (wrong, fb)
    assert not ex.check_dp_factor(-3, eps)
    _unanswered(ex.check_dp_factor(None, eps))
    with pytest.raises(TypeError):
        ex.check_dp_factor("e^4.7", eps)
    with pytest.raises(ValueError, match="epsilon"):
        ex.check_dp_factor(1.0, float("inf"))


def test_unique_fraction_recognises_the_complement():
    recs = [{"a": 1}, {"a": 1}, {"a": 2}, {"a": 3}]
    assert ex.check_unique_fraction(recs, ["a"], 0.5)
    assert ex.check_unique_fraction(recs[:3], ["a"], 1 / 3)
    assert "*not* unique" in ex.check_unique_fraction(recs[:3], ["a"], 2 / 3).message
    assert "percentage" in ex.check_unique_fraction(recs[:3], ["a"], 100 / 3).message
    _unanswered(ex.check_unique_fraction(recs, ["a"], None))
    with pytest.raises(TypeError):
        ex.check_unique_fraction(recs, ["a"], "half")
