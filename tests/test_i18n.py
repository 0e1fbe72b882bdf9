"""中文 / English: every widget label has a translation; set_language switches labels and feedback.

Fast path: the labels written as literals in the control specs (``Int("Slice", ...)``) of every widget module
are read from the source (no widget built). Slow path: every registered widget is built in Chinese once; each
control's ``.description`` (and a button's label) and every header / row name of its default frame's readout
tables (``html_table``) must be Chinese or pure notation.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import medlab
from medlab import i18n

WIDGET_DIR = Path(medlab.__file__).parent / "widgets"
ROOT = Path(__file__).resolve().parents[1]
SPEC_NAMES = {"Int", "Float", "Choice", "Check", "Button"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def _literal_labels() -> dict[str, list[str]]:
    """label -> modules, for every spec whose label (first argument) is a string literal."""
    out: dict[str, list[str]] = {}
    for path in sorted(WIDGET_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SPEC_NAMES
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                out.setdefault(node.args[0].value, []).append(path.stem)
    return out


def test_the_source_has_labels_to_check():
    labels = _literal_labels()
    assert len(labels) > 50, f"found only {len(labels)} literal labels in {WIDGET_DIR}: is the parser broken?"


def test_every_literal_widget_label_has_a_chinese_translation():
    labels = _literal_labels()
    gaps = {label: labels[label] for label in i18n.missing(labels)}
    assert not gaps, ("widget labels without a Chinese translation (add them to medlab/i18n.py ZH): "
                      + "; ".join(f"{k!r} in {v}" for k, v in sorted(gaps.items())))


def test_missing_detects_an_untranslated_label():
    assert i18n.missing(["Slice", "Frobnication depth"]) == ["Frobnication depth"]


def test_set_language_validates_and_switches(zh):
    assert i18n.t("Learning rate") == "学习率"
    assert medlab.set_language("en") == "en" and i18n.t("Learning rate") == "Learning rate"
    with pytest.raises(ValueError, match="lang must be one of"):
        medlab.set_language("fr")
    with pytest.raises(TypeError, match="lang must be a str"):
        medlab.set_language(1)


def test_feedback_speaks_the_language(zh):
    from medlab.exercises import Feedback
    assert str(Feedback(True, "ok")).startswith("✅ 正确")
    wrong = str(Feedback(False, "no", hint="count twice"))
    assert wrong.startswith("❌ 还不对") and "\n提示: count twice" in wrong
    medlab.set_language("en")
    assert str(Feedback(False, "no", hint="h")) == "❌ Not yet: no\nHint: h"


def test_an_explorer_built_in_chinese_has_chinese_controls(zh):
    from medlab.widgets._explorer import Button, Choice, Frame, Int, explorer

    def frame(slice: int, mode: str, go: bool) -> Frame:
        return Frame(readout=f"{slice} {mode} {go}")

    ex = explorer(frame, {"slice": Int("Slice", 0, 3), "mode": Choice("Mode", ["max", "avg"], style="toggle"),
                          "go": Button("Train")})
    assert ex.controls["slice"].description == "切片"
    assert ex.controls["mode"].description == "模式"
    assert list(ex.controls["mode"].options) == [("最大", "max"), ("平均", "avg")]
    assert ex.controls["go"].description == "训练"
    ex.controls["mode"].value = "avg"          # values are untouched: the frame still gets "avg"
    assert "avg" in ex.readout.value


def test_glossary_covers_the_articles_terms_with_their_notebooks():
    terms = {g.zh: g for g in i18n.glossary()}
    for zh_term, nb in [("卷积", "02"), ("池化", "03"), ("全连接层", "03"), ("直方图均衡化", "04"),
                        ("中值滤波", "04"), ("阈值分割", "04"), ("区域生长", "04"), ("灰度共生矩阵", "05"),
                        ("小波变换", "05"), ("支持向量机", "05"), ("准确率", "07"), ("召回率", "07"),
                        ("F1 值", "07"), ("可解释性", "08"), ("数据隐私", "11"), ("跨模态融合", "10")]:
        assert terms[zh_term].notebook == nb, zh_term
    table = i18n.glossary_markdown()
    assert table.count("\n") == len(i18n.GLOSSARY) + 1 and "| 卷积 | convolution | 02 |" in table
    with pytest.raises(ValueError, match="two-digit"):
        i18n.glossary("2")


def test_a_cjk_font_is_installed_for_pngs():
    path = i18n.cjk_font_path()
    if path is None:
        pytest.skip("no CJK font installed (the Makefile / .ci/run install Debian's fonts-noto-cjk)")
    from PIL import Image, ImageDraw, ImageFont
    import numpy as np
    font = ImageFont.truetype(path, 24)
    img = Image.new("L", (80, 40), 0)
    ImageDraw.Draw(img).text((4, 4), "卷积", font=font, fill=255)
    tofu = Image.new("L", (80, 40), 0)
    ImageDraw.Draw(tofu).text((4, 4), "\uffff\uffff", font=font, fill=255)
    assert np.asarray(img).sum() > 0 and not np.array_equal(np.asarray(img), np.asarray(tofu))


@pytest.fixture(scope="module")
def built_in_chinese():
    """Builds every entry of medlab.widgets.WIDGETS once in 中文 (about 70 s on 2 cores) for the two tests below.

    Per widget: its controls' (key, description) and the header / row-name cells its default frame's readout
    tables (``html_table``) asked to translate, caught by wrapping ``_explorer._table_word``.
    """
    from medlab.widgets import WIDGETS
    from medlab.widgets import _explorer
    before = i18n.get_language()
    medlab.set_language("zh")
    translate = _explorer._table_word
    words: list[str] = []

    def recording(value):
        if _explorer._is_word(value):
            words.append(value)
        return translate(value)

    _explorer._table_word = recording
    out: dict[str, dict] = {}
    try:
        for name, build in sorted(WIDGETS.items()):
            words.clear()
            ex = build()
            controls = getattr(ex, "controls", None)
            out[name] = {"controls": ({k: getattr(c, "description", "") for k, c in controls.items()}
                                      if isinstance(controls, dict) else None),
                         "table_words": sorted(set(words)),
                         "readout": getattr(getattr(ex, "readout", None), "value", ""),
                         "title": getattr(getattr(ex, "_title", None), "value", ""),
                         "options": ({k: [o[0] if isinstance(o, tuple) else o for o in getattr(c, "options", ()) or ()]
                                      for k, c in controls.items()} if isinstance(controls, dict) else {})}
    finally:
        _explorer._table_word = translate
        medlab.set_language(before)
    return out


def test_every_registered_widget_built_in_chinese_has_translated_controls(built_in_chinese):
    """Every control's ``.description`` (and a button's label) is Chinese or pure notation."""
    gaps: dict[str, list[str]] = {}
    for name, built in built_in_chinese.items():
        if built["controls"] is None:      # builders not on explorer() yet (viewer)
            continue
        for key, desc in built["controls"].items():
            if desc and not HAN.search(desc) and not i18n.is_neutral(desc) and desc not in i18n.ZH:
                gaps.setdefault(name, []).append(f"{key}: {desc!r}")
    assert not gaps, f"controls still in English after set_language('zh'): {gaps}"


def test_every_registered_widget_header_is_chinese(built_in_chinese):
    """A widget's header (``explorer(title=...)``) is shown in 中文 after ``set_language('zh')``."""
    titled = {name: b["title"] for name, b in built_in_chinese.items() if b.get("title")}
    assert len(titled) >= 15, f"only {len(titled)} widgets with a header: is explorer() still storing _title?"
    english = {name: title for name, title in titled.items() if not HAN.search(title)}
    assert not english, f"widget headers still in English after set_language('zh'): {english}"


#: controls whose options are identifiers, not words: feature / layer / wavelet / optimizer names, secret keys
IDENTIFIER_CONTROLS = {"x", "y", "feature", "layer", "wavelet", "optimizer", "key"}
IDENTIFIER_OPTIONS = {"Grad-CAM"}


def test_every_registered_widget_option_label_is_chinese(built_in_chinese):
    """The option labels of dropdowns and toggle buttons (``Choice``) are 中文 after ``set_language('zh')``, except
    identifiers (feature, layer, wavelet and optimizer names, keys); the values the frames receive stay English."""
    gaps: dict[str, list[str]] = {}
    seen = 0
    for name, built in built_in_chinese.items():
        for key, labels in built.get("options", {}).items():
            if key in IDENTIFIER_CONTROLS:
                continue
            for label in labels:
                if not isinstance(label, str):
                    continue
                seen += 1
                if (not HAN.search(label) and not i18n.is_neutral(label) and label not in IDENTIFIER_OPTIONS
                        and re.search(r"[a-z]{3,}", label)):
                    gaps.setdefault(name, []).append(f"{key}: {label!r}")
    assert seen > 100, f"only {seen} option labels recorded: is the fixture still reading .options?"
    assert not gaps, f"option labels still in English after set_language('zh') (add ZH entries): {gaps}"


def _explorer_titles() -> dict[str, str]:
    """title text -> "file:line" for every ``explorer(..., title=...)`` in the widget modules; in an f-string
    each ``{...}`` becomes "7" (a number or an id: what the _PATTERNS templates capture)."""
    out: dict[str, str] = {}
    for path in sorted(WIDGET_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "explorer"):
                continue
            for kw in node.keywords:
                if kw.arg != "title":
                    continue
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    out[kw.value.value] = f"{path.name}:{node.lineno}"
                elif isinstance(kw.value, ast.JoinedStr):
                    text = "".join(v.value if isinstance(v, ast.Constant) else "7" for v in kw.value.values)
                    out[text] = f"{path.name}:{node.lineno}"
    return out


def test_every_widget_header_in_the_source_has_a_chinese_entry():
    titles = _explorer_titles()
    assert len(titles) >= 15, f"only {len(titles)} explorer titles found: is the scan broken?"
    gaps = {k: titles[k] for k in i18n.missing(titles)}
    assert not gaps, f"explorer(title=...) without a Chinese entry (add it to medlab/i18n.py ZH or _PATTERNS): {gaps}"
    assert i18n.t("A0001: one 10 mm patch", lang="zh") == "A0001：一个 10 mm 图块"


def test_every_registered_widget_readout_table_is_translated(built_in_chinese):
    """The header cells and row names of every default frame's readout tables have a Chinese entry."""
    seen = sum(len(b["table_words"]) for b in built_in_chinese.values())
    assert seen > 100, f"only {seen} table words recorded: is html_table still calling _table_word?"
    gaps = {name: i18n.missing(b["table_words"]) for name, b in built_in_chinese.items()}
    gaps = {name: words for name, words in gaps.items() if words}
    assert not gaps, ("readout table headers / row names without a Chinese translation "
                      f"(add them to medlab/i18n.py ZH or _PATTERNS): {gaps}")
    assert "<td>患者</td>" in built_in_chinese["findings_card_viewer"]["readout"]


def test_html_table_translates_headers_and_row_names_only(zh):
    from medlab.widgets._explorer import RawHTML, html_table
    table = html_table([("patient", "patient", "12.5 mm"), ("Modality", "CT", 3), (RawHTML("<b>side</b>"), "", "")],
                       header=["", "value", "95%"], align_right_from=2)
    assert "<td>患者</td><td>patient</td>" in table          # the value column is data: untouched
    assert "<th>值</th>" in table and ">95%</th>" in table and ">12.5 mm</td>" in table and ">3</td>" in table
    assert "<td>模态</td>" in table and "<td><b>side</b></td>" in table   # RawHTML is passed as is
    assert "SliceThickness" == i18n.t("SliceThickness") and i18n.is_neutral("PatientName")
    medlab.set_language("en")
    assert "<td>patient</td><td>patient</td>" in html_table([("patient", "patient")], align_right_from=2)


def test_widget_pngs_draw_chinese_with_a_cjk_font(zh, tmp_path):
    """In 中文, titles inside the widgets' PNGs are translated and drawn with a CJK font, not as empty boxes."""
    import io
    import os

    import numpy as np
    from PIL import Image

    from medlab import render
    from medlab.widgets import WIDGETS
    if i18n.cjk_font_path() is None:
        pytest.skip("no CJK font installed (the Makefile / .ci/run install Debian's fonts-noto-cjk)")
    assert "CJK" in " ".join(render.font(15).getname())
    strip = render.titled(np.zeros((4, 200), np.uint8), "true convolution")[:24]
    i18n.set_language("en")
    english = render.titled(np.zeros((4, 200), np.uint8), "true convolution")[:24]
    tofu = render.titled(np.zeros((4, 200), np.uint8), "\uffff\uffff\uffff\uffff\uffff")[:24]
    i18n.set_language("zh")
    assert (strip < 128).sum() > 50 and not np.array_equal(strip, english) and not np.array_equal(strip, tofu)
    png = WIDGETS["flip_explorer"]().render()
    img = np.asarray(Image.open(io.BytesIO(png)))
    assert img.shape[0] > 100
    if os.environ.get("MEDLAB_UPDATE_DOCS") == "1":  # the committed example of a widget image in Chinese
        (ROOT / "docs" / "widget_zh_image.png").write_bytes(png)


def test_zh_charts_fall_back_to_dejavu_for_glyphs_the_cjk_face_lacks():
    """log₁₀ on a 中文 chart: the subscripts are not in Noto Sans CJK; matplotlib must find them in DejaVu Sans
    (font.family lists both) instead of drawing empty boxes with a 'Glyph missing' warning."""
    import warnings

    import matplotlib
    from matplotlib.figure import Figure

    from medlab import i18n

    if i18n.cjk_font_path() is None:
        pytest.skip("no CJK font installed (make system-classroom)")
    before = list(matplotlib.rcParams["font.family"])
    try:
        i18n.set_language("zh")
        fig = Figure()
        fig.add_subplot().set_ylabel("log₁₀(1 + 像素)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.canvas.draw()
        assert not [w for w in caught if "missing from font" in str(w.message)]
    finally:
        i18n.set_language("en")
    assert list(matplotlib.rcParams["font.family"]) == before


# ------------------------------------------------------------------ chart text (matplotlib) in the widgets
#: methods whose first argument is chart text; keywords whose value is chart text.
CHART_METHODS = {"set_xlabel", "set_ylabel", "set_title", "suptitle", "set_text", "annotate"}
CHART_KEYWORDS = {"label", "xlabel", "ylabel", "title", "curve_label"}
#: notation tokens that are not words to translate (function names and units drawn on the charts)
NOTATION_TOKENS = {"sigmoid", "log", "sum", "ms", "mm", "px", "dB", "AP", "Otsu"}


def _chart_wordy(node: ast.AST) -> bool:
    """True for a string literal / f-string whose literal text holds words (not notation, not in t(...))."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    elif isinstance(node, ast.IfExp):
        return _chart_wordy(node.body) or _chart_wordy(node.orelse)
    elif isinstance(node, ast.BinOp):
        return _chart_wordy(node.left) or _chart_wordy(node.right)
    else:
        return False
    text = re.sub(r"\$[^$]*\$", " ", text)          # LaTeX
    if i18n.is_neutral(text):
        return False
    words = [w for w in re.findall(r"[A-Za-z]{2,}", text) if not w.isupper() and w not in NOTATION_TOKENS]
    return bool(words)


def _chart_calls():
    """(module path, line, node) for every chart-text argument in medlab/widgets/*.py."""
    for path in sorted(WIDGET_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if attr in CHART_METHODS and node.args:
                yield path, node.lineno, node.args[0]
            if attr == "text" and len(node.args) >= 3:        # Axes.text(x, y, s); PIL's draw.text(xy, s) is not a chart
                yield path, node.lineno, node.args[2]
            if attr in {"set_xticklabels", "set_yticklabels"} and node.args:
                arg = node.args[0]
                for part in (arg.left, arg.right) if isinstance(arg, ast.BinOp) else (arg,):
                    for elt in getattr(part, "elts", []):
                        yield path, node.lineno, elt
            if isinstance(node.func, ast.Name) and node.func.id == "explorer":
                continue                                      # the widget's header (HTML), not a chart
            for kw in node.keywords:
                if kw.arg in CHART_KEYWORDS:
                    yield path, node.lineno, kw.value


def _t_literals(paths) -> dict[str, list[str]]:
    """literal -> ["file:line"] for every t("literal") call in ``paths``."""
    out: dict[str, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                out.setdefault(node.args[0].value, []).append(f"{path.name}:{node.lineno}")
    return out


def test_the_chart_scan_sees_the_chart_calls():
    n = sum(1 for _ in _chart_calls())
    assert n > 80, f"found only {n} chart-text arguments in {WIDGET_DIR}: is the scan broken?"


def test_every_chart_label_title_and_legend_goes_through_t():
    """Axis labels, titles, legend labels and texts drawn on the widgets' matplotlib charts are words passed
    through ``i18n.t`` (so they are 中文 after ``set_language('zh')``), or notation (``r"$\\theta$"``, "ROC AUC")."""
    raw = [f"{p.name}:{line}: {ast.unparse(node)}" for p, line, node in _chart_calls() if _chart_wordy(node)]
    assert not raw, "chart text not wrapped in t(...) (wrap it and add a ZH entry):\n" + "\n".join(raw)


def test_every_literal_the_widgets_translate_has_a_chinese_entry():
    literals = _t_literals(sorted(WIDGET_DIR.glob("*.py")))
    assert len(literals) > 50, f"only {len(literals)} t('...') literals found in the widgets"
    gaps = {k: literals[k] for k in i18n.missing(literals)}
    assert not gaps, ("t('...') literals without a Chinese entry (add them to medlab/i18n.py ZH or _PATTERNS): "
                      + "; ".join(f"{k!r} at {v}" for k, v in sorted(gaps.items())))


def test_the_chart_scan_flags_english_and_passes_t_and_notation():
    def wordy(src):
        return _chart_wordy(ast.parse(src, mode="eval").body)
    assert wordy('"validation loss"') and wordy('f"loss after {n} steps"') and wordy('"a" if x else "the loss"')
    assert not wordy('t("validation loss")') and not wordy('f"{t(\'loss after\')} {n}"')
    assert not wordy(r'r"$\theta_1$"') and not wordy('"ROC AUC"') and not wordy('f"{x:.2f} ms"') and not wordy('"HU"')


# ------------------------------------------------------------------ text drawn with Pillow into the widgets' PNGs
#: words that stay as they are in 中文 (notation, names): Se / Sp of the prevalence title, optimizer and method names
PIL_NOTATION = {"Se", "Sp", "Adam", "Dropout", "Bootstrap", "Platt", "Brier"}


def _english_words(text: str) -> list[str]:
    """The English words of a string drawn into a PNG: quoted data ('classroom-key') and identifiers (seed_cnn,
    p_t) removed; upper-case notation (CNN, AUC, ECE, PPV) and PIL_NOTATION pass."""
    text = re.sub(r"'[^']*'|\b\w*_\w*\b", " ", text)
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if not w.isupper() and w not in PIL_NOTATION]


def _drive_the_pil_widgets(tmp_path) -> dict[str, list[str]]:
    """Builds the widgets that draw words with ``ImageDraw.text`` (07's five charts, 11's date-shift timeline,
    05's GLCM by hand, 06's dashboard panels) on small synthetic inputs, moves their controls through the
    branches of their titles, and returns widget -> every string drawn (``ImageDraw.ImageDraw.text`` wrapped)."""
    import numpy as np
    from PIL import ImageDraw

    from medlab.widgets import evaluation as E, features as F, privacy as P, training as T
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.6).astype(int)
    p = 1 / (1 + np.exp(-(rng.normal(size=200) * 1.5 + 2 * (2 * y - 1))))
    drawn: list[str] = []
    text = ImageDraw.ImageDraw.text

    def recording(self, xy, s, *args, **kwargs):
        drawn.append(s)
        return text(self, xy, s, *args, **kwargs)

    builds = {
        "threshold_lab": (lambda: E.threshold_lab(y, {"CNN": p}, n_boot=50), [("threshold", 0.3)]),
        "prevalence_explorer": (lambda: E.prevalence_explorer(), [("prevalence", 0.1)]),
        "prevalence_explorer (demo name)": (lambda: E.prevalence_explorer(name="CNN at threshold 0.5"), []),
        "prevalence_explorer (registry demo)": (lambda: E.prevalence_explorer(
            name="CNN at the validation threshold"), []),
        "calibration_explorer": (lambda: E.calibration_explorer(y, {"CNN": p}, y, {"CNN": p}),
                                 [("recalibration", "temperature"), ("recalibration", "platt"),
                                  ("binning", "quantile")]),
        "bootstrap_explorer": (lambda: E.bootstrap_explorer(y, p, max_resamples=100), [("resamples", 60)]),
        "decision_curve": (lambda: E.decision_curve(y, {"CNN": p}), [("p_t", 0.0), ("p_t", 0.3)]),
        "date_shift_explorer": (P.date_shift_explorer, []),       # all its frames are drawn at build
        "glcm_by_hand": (F.glcm_by_hand, [("symmetric", True), ("step", 1), ("symmetric", False), ("step", 2)]),
        "training_dashboard": (lambda: T.training_dashboard(run_dir=tmp_path), [("augment", True)]),
    }
    out: dict[str, list[str]] = {}
    ImageDraw.ImageDraw.text = recording
    try:
        for name, (build, moves) in builds.items():
            drawn.clear()
            ex = build()
            for key, value in moves:
                ex.controls[key].value = value
            out[name] = list(drawn)
    finally:
        ImageDraw.ImageDraw.text = text
    return out


def test_the_words_drawn_into_the_widget_pngs_are_chinese(zh, tmp_path):
    """Titles, captions, axis words and table headers drawn with Pillow (not matplotlib) into the PNGs of 05, 06,
    07 and 11 are 中文 after ``set_language('zh')``; numbers and notation (AUC, ECE, PPV, p_t, P[i, j]) stay."""
    drawn = _drive_the_pil_widgets(tmp_path)
    for name, texts in drawn.items():
        assert any(HAN.search(s) for s in texts), f"{name}: no Chinese drawn at all ({texts[:5]}): is the scan broken?"
    english = {name: sorted({s for s in texts if _english_words(s)}) for name, texts in drawn.items()}
    english = {k: v for k, v in english.items() if v}
    assert not english, f"text drawn into the PNGs still in English after set_language('zh'): {english}"


def test_the_words_drawn_into_the_widget_pngs_stay_english_in_english(tmp_path):
    assert i18n.get_language() == "en"
    drawn = _drive_the_pil_widgets(tmp_path)
    assert not any(HAN.search(s) for texts in drawn.values() for s in texts)
    assert "visit    original      shifted      shift (days)" in drawn["date_shift_explorer"]
    assert any(re.fullmatch(r"CNN at 0\.30: accuracy 0\.\d{3}", s) for s in drawn["threshold_lab"])
    assert "P[i, j] after 1 pair + transpose · total 2" in drawn["glcm_by_hand"]
    assert "p_t = 0: treat everyone" in drawn["decision_curve"]


def test_the_hu_profile_legend_names_the_tissues_not_the_windows(zh):
    """The tissue bands of 01's HU profile: 肺组织 (lung tissue), not 肺窗 (the lung *window* t("lung") means)."""
    from medlab.widgets import medical_images as M
    chart, _ = M._profile_chart(100.0)
    legend = [x.get_text() for x in chart.fig.axes[0].get_legend().get_texts()]
    assert len(legend) == len(M.TISSUE_BANDS) and all(HAN.search(s) for s in legend), legend
    assert legend[1].startswith("肺组织") and not any("窗" in s for s in legend)
    medlab.set_language("en")
    chart, _ = M._profile_chart(100.0)
    assert [x.get_text() for x in chart.fig.axes[0].get_legend().get_texts()][1] == "lung -900…-500"


def _zh_dict_keys() -> list[tuple[str, int]]:
    tree = ast.parse((ROOT / "medlab" / "i18n.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "ZH":
            return [(k.value, k.lineno) for k in node.value.keys]
    raise AssertionError("no `ZH: dict[str, str] = {...}` in medlab/i18n.py")


def test_no_chinese_entry_is_written_twice():
    """A key written twice in the ZH literal silently keeps only its last value."""
    keys = _zh_dict_keys()
    assert len(keys) > 300
    seen: dict[str, int] = {}
    twice = []
    for key, line in keys:
        if key in seen:
            twice.append(f"{key!r} (lines {seen[key]} and {line})")
        seen[key] = line
    assert not twice, "ZH keys written twice: " + "; ".join(twice)


def test_format_templates_keep_their_placeholders():
    """A ZH template (a key with {0}, {1:.2f} ...) has the same fields and format specs as its English key."""
    import string

    def fields(s):
        return sorted((f, spec) for _, f, spec, _ in string.Formatter().parse(s) if f is not None)

    bad = {k: v for k, v in i18n.ZH.items() if "{" in k and fields(k) != fields(v)}
    assert not bad, f"templates whose Chinese lost or changed a placeholder: {bad}"
    assert i18n.t("{0} at {1:.2f}: accuracy {2:.3f}", lang="zh").format("CNN", 0.5, 0.9) == "CNN，阈值 0.50：准确率 0.900"


def _titled_calls():
    """(module, line, title node) for every ``titled(panel, title)`` call in medlab/widgets/*.py."""
    for path in sorted(WIDGET_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "titled"
                    and len(node.args) >= 2):
                yield path, node.lineno, node.args[1]


def test_titles_made_from_data_go_through_a_translated_template():
    """``render.titled`` translates a literal title itself, but an f-string such as f"{n} % deleted" never matches a
    ZH key: such titles must be ``t("{0} % deleted").format(n)`` (the template has the entry)."""
    calls = list(_titled_calls())
    assert len(calls) >= 15, f"found only {len(calls)} titled() calls: is the scan broken?"
    raw = [f"{p.name}:{line}: {ast.unparse(node)}" for p, line, node in calls
           if isinstance(node, ast.JoinedStr) and _chart_wordy(node)]
    assert not raw, "titled() with an f-string of words (use t('template {0}').format(...)):\n" + "\n".join(raw)
    assert i18n.t("{0} % deleted", lang="zh").format(30) == "已删除 30 %"


def test_the_tag_browser_names_groups_and_actions_in_chinese(zh):
    """11's de-identification table: group options, action names, legend and summary line are 中文 (the DICOM
    keywords, tags and values are data and stay)."""
    from medlab.widgets import privacy as P
    ex = P.tag_browser(**P._tag_demo())
    groups = [label for label, _ in ex.controls["group"].options]
    assert groups[0] == "全部" and all(HAN.search(g) or g == "UID" for g in groups), groups
    readout = ex.readout.value
    for word in ("个属性", "选项", "已删除", "已清空", "新 UID", "操作（表中代码）"):
        assert word in readout, word
    for english in ("attribute(s)", "removed", "emptied", "new UID (U)"):
        assert english not in readout, english


def test_divergence_words_in_the_gradient_descent_tables_are_chinese(zh):
    """06's stepper and race tables say 发散, not 'diverged', when the learning rate is too large."""
    from medlab.widgets import training as W
    ex = W.gd_stepper(surface="parabola", lr=0.9)
    ex.controls["run"].click()
    assert "发散" in ex.readout.value and "diverged" not in ex.readout.value
    assert "（= 2 / 最大曲率）" in ex.readout.value
    race = W.optimizer_race(surface="bowl", lr=0.5)
    assert "发散" in race.readout.value and "diverged" not in race.readout.value


def test_lung_segmentation_step_names_are_chinese_for_any_parameters(zh):
    """04's step names carry lung_mask's parameters ("1 air (HU < -320)"): translated for every value, not only
    the defaults."""
    from medlab.i18n import t
    assert t("1 air (HU < -320)") == "1 空气（HU < -320）"
    assert t("1 air (HU < -450.5)") == "1 空气（HU < -450.5）"
    assert t("4 vessels filled (closing r=7, fill holes)") == "4 填充血管（闭运算 r=7，填充空洞）"
    assert t("3 two lungs (airways, gas removed)") == "3 两肺（已去除气道和气体）"


def test_core_errors_a_learner_reaches_are_shown_in_chinese(zh):
    """The core's own messages for a kernel or pool window wider than the padded input and an empty HU range in
    the box reach the widgets as warnings; Explorer._set_warning shows them in 中文. Raised by the core itself
    here, so a reworded core message fails this test instead of silently staying English."""
    import numpy as np
    from medlab import ops
    from medlab.i18n import t
    from medlab.widgets import WIDGETS
    msgs = []
    for call in (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), dilation=3),
                 lambda: ops.conv2d(np.zeros((2, 2)), np.ones((3, 3))),
                 lambda: ops.pool2d(np.zeros((3, 3)), 4)):
        with pytest.raises(ValueError) as info:
            call()
        msgs.append(t(f"Invalid configuration: {info.value}"))
    ex = WIDGETS["output_size_explorer"]()
    ex.controls["dilation"].value = 4
    msgs.append(ex.message)
    ex = WIDGETS["shape_explorer"]()
    ex.set(threshold=100, slice=12)
    msgs.append(ex.message)
    for m in msgs:      # the argument the core names ("size", "k") is an identifier and stays
        assert HAN.search(m) and not [w for w in _english_words(m) if w != "size"], m
    assert msgs[0].startswith("配置无效：") and "膨胀 3" in msgs[0]
    assert "池化窗口" in msgs[2]
    medlab.set_language("en")
    ex = WIDGETS["output_size_explorer"]()
    ex.controls["dilation"].value = 4
    assert ex.message.startswith("Invalid configuration: k: kernel (size 3 with dilation 4) spans 9 pixels")
