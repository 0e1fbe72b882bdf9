"""widgets.privacy: tag browser, date-shift explorer, FedAvg explorer, DP explorer (through controls/panes)."""
from __future__ import annotations

import hashlib
import re

import pytest

pytest.importorskip("ipywidgets")

from medlab import privacy as P  # noqa: E402
from medlab.widgets import privacy as W  # noqa: E402


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def browser():
    folder = W._ct_folder()
    before = _hashes(folder)
    ex = W.tag_browser(folder)
    yield ex
    assert _hashes(folder) == before


def test_tag_rows_filters():
    rows = [{"tag": "(0010,0010)", "keyword": "PatientName", "code": "Z", "action": "Z"},
            {"tag": "(0020,000D)", "keyword": "StudyInstanceUID", "code": "U", "action": "U"},
            {"tag": "(0009,0010)", "keyword": "(private)", "code": "private", "action": "X"},
            {"tag": "(0008,1140)", "keyword": "ReferencedImageSequence", "code": "X/Z/U*", "action": "U*"}]
    assert [r["keyword"] for r in W.tag_rows(rows, "patient (0010)")["rows"]] == ["PatientName"]
    assert [r["keyword"] for r in W.tag_rows(rows, "UIDs")["rows"]] == ["StudyInstanceUID"]
    assert [r["code"] for r in W.tag_rows(rows, "private (odd groups)")["rows"]] == ["private"]
    assert len(W.tag_rows(rows, "all", changed_only=True)["rows"]) == 3
    assert not W.tag_rows(rows, "nope")["ok"]


def test_tag_browser_shows_masked_before_and_the_options(browser):
    ex = browser
    ex.set(file=0, group="all")
    text = ex.readout.value
    assert "Lung_Dx-A0002" not in text and "L***_D*-A****" in text      # the patient's name is masked
    assert "PatientName" in text and "emptied (Z)" in text and "removed (private)" in text
    main = ex.panes["main"].value
    ex.controls["modified_dates"].value = True
    shifted = P.shift_date("20070425", P.date_shift_days("classroom-key", "Lung_Dx-A0002"))
    assert shifted in ex.readout.value and "cleaned (Z)" in ex.readout.value
    assert ex.panes["main"].value != main
    ex.controls["modified_dates"].value = False
    ex.controls["patient_characteristics"].value = True
    assert re.search(r"PatientSex</td><td[^>]*>kept", ex.readout.value.replace("\n", ""))
    ex.controls["patient_characteristics"].value = False
    ex.controls["group"].value = "private (odd groups)"
    assert "StudyDate" not in ex.readout.value and "(0029,0010)" in ex.readout.value
    ex.controls["group"].value = "all"


def test_tag_browser_file_control_moves_the_slice(browser):
    ex = browser
    before = ex.panes["slice"].value
    ex.controls["file"].value = 5
    assert ex.panes["slice"].value != before and "1-06.dcm" in ex.readout.value
    ex.controls["file"].value = 0


def test_date_shift_explorer_keeps_intervals_unless_naive():
    ex = W.date_shift_explorer()
    assert "intervals preserved" in ex.readout.value
    main = ex.panes["main"].value
    ex.controls["key"].value = "another-key"
    assert ex.panes["main"].value != main
    ex.controls["naive"].value = True
    assert "intervals changed" in ex.readout.value


TINY_FED = {"sizes": (48, 24, 12), "batch_size": 24, "learning_rate": 0.5, "seed": 0}


def test_fedavg_explorer_trains_missing_settings_behind_the_button():
    ex = W.fedavg_explorer(rounds=2, local_epochs=(1, 2), heterogeneity=(0.0, 1.0), precompute=[(1, 1.0)],
                           config=TINY_FED)
    assert ex.message == "" and "H1: 48 images, 90% pneumonia" in ex.readout.value
    ex.controls["local_epochs"].value = 2
    assert "not trained yet" in ex.message
    ex.click("run_button")
    assert ex.message == "" and "after round 2" in ex.readout.value
    ex.controls["shown_rounds"].value = 1
    assert "after round 1" in ex.readout.value


def test_dp_explorer_epsilon_is_the_accountants():
    cfg = {"n_train": 64, "epochs": 1, "batch_size": 32}
    grid = P.dp_grid((1.0,), (0.0, 1.0), config=cfg)
    assert grid[0]["epsilon"] == float("inf") and grid[1]["epsilon"] == pytest.approx(
        P.dp_epsilon(1.0, 0.5, 2, 1e-5))
    ex = W.dp_explorer(grid, config=cfg)
    ex.controls["noise"].value = 1.5
    eps = P.dp_epsilon(1.5, 0.5, 2, 1e-5)
    assert f"ε = {eps:.3g}" in ex.readout.value and "Nearest precomputed run: C = 1, σ = 1" in ex.readout.value
    ex.click("run_button")
    assert "Live run at these values" in ex.readout.value
