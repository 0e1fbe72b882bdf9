"""Patient privacy: DICOM de-identification (PS3.15 Annex E), federated averaging and DP-SGD.

Taught in notebook 11 (``notebooks/11_privacy.ipynb``).

De-identification (§1-§6 of the notebook)
    :func:`deidentify` applies the **Basic Application Level Confidentiality Profile** of DICOM PS3.15
    Annex E, edition 2024b: the 621 rows of Table E.1-1 are encoded as data in :mod:`medlab._annex_e`
    (source and edition in its docstring), each with its Basic Profile action and the actions of the option
    columns. The profile is applied recursively inside sequences; private attributes (odd groups) are removed
    unless they are on a safe list and the Retain Safe Private option is asked for; curves (groups 50xx) and
    overlays (60xx) are removed. UIDs are replaced by a keyed hash into the ``2.25.`` root, so the same input
    UID gives the same output UID for the same ``key`` in every file and every reference: a de-identified
    series is still one series. :func:`audit` lists what is left that could identify a person.

    The combined codes of Table E.1-1 leave the choice to the IOD (Type 1, 2 or 3 of the attribute in the
    IOD being written). This module does not load the IOD tables, so it resolves them to the choice that
    keeps any IOD valid without keeping a value: ``X/Z`` -> Z, ``Z/D`` -> Z, ``X/Z/D`` -> Z, ``X/D`` -> D and
    ``X/Z/U*`` -> keep the sequence, replace the UIDs inside it (U) and apply the profile to its items.
    When two selected options give an action for one attribute, C (clean) wins over K (keep). Whole overlay
    groups are removed, not only Overlay Data and Overlay Comments: an overlay plane without its data is not
    a valid overlay.

Federated learning and differential privacy (§7-§9)
    :func:`fedavg` (FedAvg, McMahan et al. 2017) trains one Keras model across simulated hospitals;
    :func:`dp_sgd_train` trains with per-example clipping and Gaussian noise (Abadi et al. 2016) and
    :func:`dp_epsilon` gives epsilon from the RDP accountant of ``dp-accounting``.

>>> import tempfile, pydicom
>>> from pydicom.data import get_testdata_file
>>> src = get_testdata_file("CT_small.dcm"); out = tempfile.mkdtemp() + "/out"
>>> rep = deidentify(src, out, key="course-secret")
>>> ds = pydicom.dcmread(out + "/CT_small.dcm")
>>> str(ds.PatientName), ds.PatientIdentityRemoved, ds.SOPInstanceUID.startswith("2.25.")
('', 'YES', True)
"""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import hmac
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import _annex_e
from ._validate import check_int

__all__ = ["OPTIONS", "PROFILE_SIZE", "Change", "Report", "Finding", "deidentify", "deidentify_dataset", "audit",
           "profile_action",
           "TrainResult", "train_sgd", "hospital_splits", "fedavg", "compare_federated", "rdp_sampled_gaussian",
           "epsilon_by_hand", "dp_epsilon", "dp_sgd_train",
           "keyed_uid", "date_shift_days", "shift_date", "naive_deidentify", "NAIVE_RULES", "random_uids",
           "add_burned_in_text", "compare_outputs", "run_dicognito", "uniqueness", "face_rendering",
           "FED_DEFAULTS", "DP_DEFAULTS", "EXAMPLE_VISITS", "pneumonia_data", "dp_grid"]

# --------------------------------------------------------------------------------------------
# the encoded table
# --------------------------------------------------------------------------------------------
_COL = {name: i for i, name in enumerate(_annex_e.COLUMNS)}
PROFILE_SIZE = len(_annex_e.TABLE)  #: rows of Table E.1-1 encoded (621 in 2024b)


def _tag_int(text: str) -> int | None:
    m = re.fullmatch(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)", text)
    return int(m.group(1) + m.group(2), 16) if m else None


_BY_TAG: dict[int, tuple[str, ...]] = {}
_BY_KEYWORD: dict[str, tuple[str, ...]] = {}
_PATTERNS: dict[str, tuple[str, ...]] = {}
for _row in _annex_e.TABLE:
    _t = _tag_int(_row[0])
    if _t is None:
        _PATTERNS[_row[1]] = _row
    else:
        _BY_TAG[_t] = _row
    _BY_KEYWORD[_row[1]] = _row


@dataclass(frozen=True)
class Option:
    """One option of PS3.15 E.3: its short name here, its CID 7050 code and meaning, its Table E.1-1 column."""

    name: str
    code: str
    meaning: str


BASIC_CODE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_CODE = ("113101", "Clean Pixel Data Option")

#: The options implemented, by short name (also accepted: the CID 7050 code value, e.g. ``"113107"``).
OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("safe_private", "113111", "Retain Safe Private Option"),
    Option("uids", "113110", "Retain UIDs Option"),
    Option("device_identity", "113109", "Retain Device Identity Option"),
    Option("institution_identity", "113112", "Retain Institution Identity Option"),
    Option("patient_characteristics", "113108", "Retain Patient Characteristics Option"),
    Option("full_dates", "113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    Option("modified_dates", "113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    Option("clean_descriptors", "113105", "Clean Descriptors Option"),
)}
_NOT_IMPLEMENTED = {"clean_structured_content": "113104", "clean_graphics": "113103",
                    "clean_recognizable_visual_features": "113102"}
_COMBINED = {"X/Z": "Z", "Z/D": "Z", "X/Z/D": "Z", "X/D": "D", "X/Z/U*": "U*"}


def _parse_options(options: Any) -> tuple[str, ...]:
    if isinstance(options, str):
        options = (options,)
    try:
        items = list(options)
    except TypeError:
        raise TypeError(f"options must be a list of option names, got {type(options).__name__}") from None
    by_code = {o.code: o.name for o in OPTIONS.values()}
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"options must contain strings (names or CID 7050 codes), got {item!r}")
        name = by_code.get(item, item)
        if name in _NOT_IMPLEMENTED or item in _NOT_IMPLEMENTED.values():
            raise ValueError(f"options: {item!r} is a PS3.15 option this module does not implement; "
                             f"implemented: {sorted(OPTIONS)}")
        if name not in OPTIONS:
            raise ValueError(f"options: unknown option {item!r}; expected one of {sorted(OPTIONS)} "
                             f"or their CID 7050 codes {sorted(by_code)}")
        if name not in names:
            names.append(name)
    if "full_dates" in names and "modified_dates" in names:
        raise ValueError("options: 'full_dates' and 'modified_dates' exclude each other; choose one")
    return tuple(names)


def _resolve(row: tuple[str, ...], options: Sequence[str]) -> str:
    acts = [row[_COL[o]] for o in options if row[_COL[o]]]
    if acts:
        return "C" if "C" in acts else "K"
    basic = row[_COL["basic"]]
    return _COMBINED.get(basic, basic)


def profile_action(attribute: str | int, options: Iterable[str] = ()) -> tuple[str, str]:
    """(code in Table E.1-1, action applied here) for a keyword or tag, with the given options.

    Used in 11 §2.

    >>> profile_action("PatientName")
    ('Z', 'Z')
    >>> profile_action("StudyDate"), profile_action("StudyDate", ["modified_dates"])
    (('Z', 'Z'), ('Z', 'C'))
    >>> profile_action(0x00081140)   # Referenced Image Sequence
    ('X/Z/U*', 'U*')
    """
    opts = _parse_options(options)
    if isinstance(attribute, str):
        row = _BY_KEYWORD.get(attribute)
    elif isinstance(attribute, (int, np.integer)) and not isinstance(attribute, bool):
        row = _BY_TAG.get(int(attribute))
    else:
        raise TypeError(f"attribute must be a keyword (str) or a tag (int), got {type(attribute).__name__}")
    if row is None:
        raise ValueError(f"attribute {attribute!r} is not in Table E.1-1 (such attributes are kept, "
                         "see audit() for what to review)")
    return row[_COL["basic"]], _resolve(row, opts)


# --------------------------------------------------------------------------------------------
# keyed replacement values
# --------------------------------------------------------------------------------------------
def _key_bytes(key: Any) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"key must be a str or bytes secret, got {type(key).__name__}")
    if len(key) == 0:
        raise ValueError("key must not be empty: it is the secret that makes replaced UIDs and date shifts "
                         "unguessable; pass a long random string and keep it out of the released data")
    return bytes(key)


def keyed_uid(uid: str, key: str | bytes) -> str:
    """The replacement of ``uid``: HMAC-SHA256(key, uid) as a 128-bit integer under the ``2.25.`` root.

    Same key and UID -> same result (so references stay consistent); without the key it cannot be inverted.
    Used in 11 §4.

    >>> keyed_uid("1.2.3", "k") == keyed_uid("1.2.3", "k") != keyed_uid("1.2.3", "other")
    True
    >>> len(keyed_uid("1.2.3", "k")) <= 64
    True
    """
    digest = hmac.new(_key_bytes(key), str(uid).strip("\0 ").encode("ascii", "replace"), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def date_shift_days(key: str | bytes, patient: str) -> int:
    """The per-patient date shift (days, between -3650 and -365) derived from ``key`` and the patient ID.

    One shift per patient keeps every interval between that patient's dates. Used in 11 §5.

    >>> d = date_shift_days("k", "PAT-1"); -3650 <= d <= -365, d == date_shift_days("k", "PAT-1")
    (True, True)
    """
    digest = hmac.new(_key_bytes(key), b"date-shift:" + str(patient).encode("utf-8"), hashlib.sha256).digest()
    return -(365 + int.from_bytes(digest[:8], "big") % (3650 - 365 + 1))


def shift_date(value: str, days: int, vr: str = "DA") -> str:
    """Shift a DA (``YYYYMMDD``, partial ``YYYY``/``YYYYMM`` or a range ``A-B``) or DT value by ``days``.

    The precision of the input is kept (a year stays a year); the time part of a DT is kept.

    >>> shift_date("20070425", -10), shift_date("20070101-20070201", 31), shift_date("20070425101500.5", 1, "DT")
    ('20070415', '20070201-20070304', '20070426101500.5')
    """
    value = str(value).strip()
    if "-" in value and vr == "DA":
        return "-".join(shift_date(p, days, vr) if p else "" for p in value.split("-"))
    if vr == "DT":
        m = re.match(r"^(\d{4,8})(.*)$", value)
        if not m:
            raise ValueError(f"value: not a DT value: {value!r}")
        return shift_date(m.group(1), days, "DA") + m.group(2)
    if not re.fullmatch(r"\d{4}|\d{6}|\d{8}", value):
        raise ValueError(f"value: not a DA value (YYYYMMDD): {value!r}")
    full = (value + "0101")[:8] if len(value) == 4 else (value + "01")[:8]
    shifted = _dt.datetime.strptime(full, "%Y%m%d").date() + _dt.timedelta(days=int(days))
    return shifted.strftime("%Y%m%d")[:len(value)]


_DUMMY_TEXT = "ANONYMIZED"
_DUMMY: dict[str, Any] = {"PN": "ANONYMOUS", "DA": "19000101", "TM": "000000", "DT": "19000101000000",
                          "AS": "000Y", "AE": "ANONYMOUS", "UR": "urn:anonymized", "CS": "ANONYMIZED"}
_DUMMY_VALUES = {str(v) for v in _DUMMY.values()} | {_DUMMY_TEXT}
_TEXT_VRS = {"LO", "SH", "ST", "LT", "UT", "UC", "PN", "CS", "AE", "UR"}
_NUMBER_VRS = {"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "DS", "IS", "AT"}
_BINARY_VRS = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}


def _is_multi(value: Any) -> bool:
    from pydicom.multival import MultiValue
    return isinstance(value, (list, tuple, MultiValue))


def _render(value: Any, masked: bool) -> str:
    """A value as text for reports and comparisons: ``masked`` keeps the first character of each part and
    turns the rest into '*' (40 characters at most); unmasked values are cut at 64 characters."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if _is_multi(value):
        return "\\".join(_mask(v) if masked else str(v) for v in value)
    text = str(value)
    if not masked:
        return text if len(text) <= 64 else text[:63] + "…"
    tail = "…" if len(text) > 40 else ""
    return re.sub(r"(?<=[0-9A-Za-z])[0-9A-Za-z]", "*", text[:40]) + tail


def _mask(value: Any) -> str:
    """A masked copy of a value for the report: first character of each part, the rest as '*'."""
    return _render(value, masked=True)


def _show(value: Any) -> str:
    return _render(value, masked=False)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One attribute of one file handled by the profile (also kept ones, action K)."""

    file: str
    path: str          # e.g. "ReferencedImageSequence[0].ReferencedSOPInstanceUID"
    tag: str           # "(0008,1155)"
    keyword: str
    code: str          # the Table E.1-1 code (e.g. "X/Z/D"), "private" / "curve" / "overlay" for the patterns
    action: str        # what was done: X, Z, D, K, C, U (or "U*" for a sequence whose UIDs were replaced)
    before: str        # masked original value
    after: str

    @property
    def changed(self) -> bool:
        return self.action != "K" and not (self.action == "U*")


@dataclass
class Report:
    """What :func:`deidentify` did: per file and attribute (``changes``), skipped files, options, summary."""

    src: str
    dst: str
    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    option_codes: list[tuple[str, str]] = field(default_factory=list)
    uids_replaced: int = 0
    detailed: bool = True

    @property
    def summary(self) -> dict[str, Any]:
        by_action: dict[str, int] = {}
        for c in self.changes:
            by_action[c.action] = by_action.get(c.action, 0) + 1
        return {"files_written": len(self.files), "files_skipped": len(self.skipped),
                "attributes_handled": len(self.changes), "by_action": dict(sorted(by_action.items())),
                "private_removed": sum(c.code == "private" and c.action == "X" for c in self.changes),
                "uids_replaced": self.uids_replaced, "options": [m for _, m in self.option_codes],
                "profile": f"PS3.15 {_annex_e.EDITION} Table E.1-1 ({PROFILE_SIZE} rows)"}

    def rows(self, file: str | None = None, changed_only: bool = True) -> list[dict[str, str]]:
        """The per-attribute records as dicts (for a table), optionally of one file."""
        return [c.__dict__.copy() for c in self.changes
                if (file is None or c.file == file) and (c.changed or not changed_only)]

    def __str__(self) -> str:
        s = self.summary
        lines = [f"De-identified {s['files_written']} file(s) -> {self.dst} ({s['profile']})",
                 f"skipped {s['files_skipped']}: " + ", ".join(f"{f} ({r})" for f, r in self.skipped[:5]),
                 f"actions: {s['by_action']}; private attributes removed: {s['private_removed']}; "
                 f"distinct UIDs replaced: {s['uids_replaced']}",
                 "method codes: " + ", ".join(f"{c} {m}" for c, m in self.option_codes)]
        return "\n".join(lines)

    __repr__ = __str__


# --------------------------------------------------------------------------------------------
# the profile on one dataset
# --------------------------------------------------------------------------------------------
class _Context:
    def __init__(self, key: bytes, options: tuple[str, ...], safe_private: set[tuple[int, str, int]],
                 record: bool):
        self.key = key
        self.options = options
        self.safe_private = safe_private
        self.record = record
        self.uid_map: dict[str, str] = {}
        self.changes: list[Change] = []
        self.file = ""
        self.shift = 0
        self.scrub: re.Pattern | None = None

    def uid(self, value: str) -> str:
        value = str(value).strip("\0 ")
        if not value:
            return value
        if value not in self.uid_map:
            self.uid_map[value] = keyed_uid(value, self.key)
        return self.uid_map[value]

    def note(self, path: str, tag: int, keyword: str, code: str, action: str, before: Any, after: Any):
        if self.record:
            shown = before if isinstance(before, str) and before.startswith("<") and before.endswith(")>") \
                else _mask(before)
            self.changes.append(Change(self.file, path, f"({tag >> 16:04X},{tag & 0xFFFF:04X})", keyword, code,
                                       action, shown, _show(after)))


_DATE_RE = r"\b(?:\d{8}|\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})\b"


def _identifiers(ds) -> re.Pattern:
    """A regex of the identifying values of this dataset (names, IDs, institution), for the C action."""
    words: set[str] = set()
    id_keywords = {"PatientID", "OtherPatientIDs", "AccessionNumber", "StudyID", "InstitutionName",
                   "InstitutionAddress", "StationName", "DeviceSerialNumber", "PatientBirthDate",
                   "PatientAddress", "MedicalRecordLocator", "IssuerOfPatientID"}

    def visit(d):
        for elem in d:
            if elem.VR == "SQ":
                for item in elem.value or ():
                    visit(item)
            elif elem.VR == "PN" and elem.value:
                values = elem.value if elem.VM > 1 else [elem.value]
                for v in values:
                    words.update(p for p in re.split(r"[\^=\s,]+", str(v)) if len(p) >= 3)
            elif elem.keyword in id_keywords and elem.value:
                values = elem.value if elem.VM > 1 else [elem.value]
                for v in values:
                    words.add(str(v).strip())
                    words.update(p for p in re.split(r"[\s,]+", str(v)) if len(p) >= 4)
    visit(ds)
    words = {w for w in words if len(w) >= 3}
    alts = sorted((re.escape(w) for w in words), key=len, reverse=True)
    pattern = "|".join(alts + [_DATE_RE])
    return re.compile(pattern, re.IGNORECASE)


def _empty(elem) -> None:
    from pydicom.sequence import Sequence as DSequence
    if elem.VR == "SQ":
        elem.value = DSequence([])
    elif elem.VR in _BINARY_VRS:
        elem.value = b""
    elif elem.VR in _NUMBER_VRS:
        elem.value = None
    else:
        elem.value = ""


def _dummy(elem, ctx: _Context):
    vr = elem.VR
    if vr == "UI":
        return ctx.uid(elem.value) if elem.VM <= 1 else [ctx.uid(v) for v in elem.value]
    if vr in _DUMMY:
        return _DUMMY[vr]
    if vr in _TEXT_VRS:
        return _DUMMY_TEXT[:16] if vr in ("SH",) else _DUMMY_TEXT
    if vr in _NUMBER_VRS:
        return "0" if vr in ("DS", "IS") else 0
    if vr in _BINARY_VRS:
        return b"\x00\x00"
    return _DUMMY_TEXT


def _clean_text(value: Any, ctx: _Context) -> Any:
    def one(v):
        return ctx.scrub.sub("***", str(v)) if ctx.scrub is not None else str(v)
    if _is_multi(value):
        return [one(v) for v in value]
    return one(value)


def _shift_value(value: Any, vr: str, days: int) -> Any:
    def one(v):
        return shift_date(str(v), days, vr) if str(v).strip() else ""
    if _is_multi(value):
        return [one(v) for v in value]
    return one(value)


def _private_kept(ds, elem, ctx: _Context) -> bool:
    if "safe_private" not in ctx.options or not ctx.safe_private:
        return False
    group, element = elem.tag.group, elem.tag.element
    if element < 0x0100:        # a private creator: kept when one of its block's attributes is kept
        if not (0x10 <= element <= 0xFF):
            return False
        creator = str(elem.value).strip()
        return any(g == group and c == creator for g, c, _ in ctx.safe_private)
    block = element >> 8
    creator_elem = ds.get((group << 16) | block)
    if creator_elem is None:
        return False
    return (group, str(creator_elem.value).strip(), element & 0xFF) in ctx.safe_private


def _apply(ds, ctx: _Context, prefix: str = "") -> None:
    """Apply the profile to ``ds`` in place, recursing into sequences."""
    from pydicom.sequence import Sequence as DSequence
    for elem in list(ds):
        tag = int(elem.tag)
        group, element = tag >> 16, tag & 0xFFFF
        kw = elem.keyword or ""
        path = f"{prefix}{kw or elem.tag}"
        if group % 2 == 1:
            if _private_kept(ds, elem, ctx):
                ctx.note(path, tag, kw or "(private)", "private", "K", elem.value, elem.value)
                continue
            before = elem.value if elem.VR != "SQ" else "<sequence>"
            del ds[tag]
            ctx.note(path, tag, kw or "(private)", "private", "X", before, "")
            continue
        if 0x5000 <= group <= 0x501E and group % 2 == 0:
            del ds[tag]
            ctx.note(path, tag, kw, _PATTERNS["CurveData"][_COL["basic"]] + " (curve)", "X", elem.value, "")
            continue
        if 0x6000 <= group <= 0x601E and group % 2 == 0:
            row = _PATTERNS.get({0x3000: "OverlayData", 0x4000: "OverlayComments"}.get(element, ""), None)
            code = row[_COL["basic"]] if row else "X (overlay group)"
            del ds[tag]
            ctx.note(path, tag, kw, code, "X", elem.value, "")
            continue
        row = _BY_TAG.get(tag)
        if row is None:
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or ()):
                    _apply(item, ctx, f"{path}[{i}].")
            continue
        code = row[_COL["basic"]]
        act = _resolve(row, ctx.options)
        before = elem.value if elem.VR != "SQ" else f"<{len(elem.value or ())} item(s)>"
        if act == "C":
            if elem.VR in ("DA", "DT") and "modified_dates" in ctx.options:
                try:
                    elem.value = _shift_value(elem.value, elem.VR, ctx.shift)
                except ValueError:      # not a parseable date: nothing to shift, remove the value
                    _empty(elem)
                    act = "Z"
            elif elem.VR in ("TM",) or (elem.VR == "SH" and kw == "TimezoneOffsetFromUTC"):
                act = "K"               # whole-day shift: times and the time zone keep their meaning
            elif elem.VR == "SQ":
                for i, item in enumerate(elem.value or ()):
                    _apply(item, ctx, f"{path}[{i}].")
            elif elem.VR in _TEXT_VRS and elem.VR != "PN":
                elem.value = _clean_text(elem.value, ctx) if elem.value not in (None, "") else elem.value
            else:                       # nothing to clean in place (binary timestamp): the basic action
                act = _COMBINED.get(code, code)
                if act == "X":
                    del ds[tag]
                elif act == "Z":
                    _empty(elem)
                else:
                    elem.value = _dummy(elem, ctx)
        elif act == "X":
            del ds[tag]
        elif act == "Z":
            _empty(elem)
        elif act == "D":
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or ()):
                    _apply(item, ctx, f"{path}[{i}].")
            else:
                elem.value = _dummy(elem, ctx)
        elif act == "U" or (act == "U*" and elem.VR != "SQ"):
            act = "U"
            if elem.VR == "UI" and elem.value:
                elem.value = ctx.uid(elem.value) if elem.VM <= 1 else [ctx.uid(v) for v in elem.value]
            elif elem.VR == "SQ":
                for i, item in enumerate(elem.value or ()):
                    _apply(item, ctx, f"{path}[{i}].")
        elif act in ("K", "U*"):
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or DSequence([])):
                    _apply(item, ctx, f"{path}[{i}].")
        after = "" if act == "X" else (elem.value if elem.VR != "SQ" else f"<{len(elem.value or ())} item(s)>")
        ctx.note(path, tag, kw, code, act, before, after)


def _set_method(ds, options: tuple[str, ...], pixel_cleaned: bool) -> list[tuple[str, str]]:
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence as DSequence
    codes = [BASIC_CODE] + [(OPTIONS[o].code, OPTIONS[o].meaning) for o in options]
    if pixel_cleaned:
        codes.append(CLEAN_PIXEL_CODE)
    ds.PatientIdentityRemoved = "YES"
    method = f"MedLab PS3.15 {_annex_e.EDITION} Basic Profile" + (" + " + ", ".join(options) if options else "")
    old = ds.get("DeidentificationMethod")
    old_values = [] if old in (None, "") else ([str(v) for v in old] if isinstance(old, (list, tuple)) or
                                               type(old).__name__ == "MultiValue" else [str(old)])
    ds.DeidentificationMethod = [v for v in old_values if v != method][:7] + [method[:64]] \
        if old_values else method[:64]
    seq = []        # this run's methods only: earlier codes (e.g. an archive's) may claim options now undone
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        seq.append(item)
    ds.DeidentificationMethodCodeSequence = DSequence(seq)
    if "modified_dates" in options:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    elif "full_dates" in options:
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
    return codes


def _profile(ds, ctx: _Context, pixel_cleaned: bool = False) -> list[tuple[str, str]]:
    patient = str(ds.get("PatientID", "") or ds.get("PatientName", ""))
    ctx.shift = date_shift_days(ctx.key, patient)
    ctx.scrub = _identifiers(ds)
    _apply(ds, ctx)
    if getattr(ds, "file_meta", None) is not None:
        _apply(ds.file_meta, ctx, "file_meta.")
        if "SOPInstanceUID" in ds:
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return _set_method(ds, ctx.options, pixel_cleaned)


def deidentify_dataset(ds, *, key: str | bytes, options: Iterable[str] = (), name: str = "") -> tuple[Any, list[Change]]:
    """The profile of :func:`deidentify` on one in-memory pydicom Dataset: (a de-identified copy, changes).

    The input dataset is not modified. Nothing is written; burned-in text is not checked here. Used by the
    tag browser of 11 §2.

    >>> import pydicom; from pydicom.data import get_testdata_file
    >>> ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    >>> out, changes = deidentify_dataset(ds, key="k", options=["patient_characteristics"])
    >>> str(out.PatientName), out.PatientSex == ds.PatientSex, str(ds.PatientName) != ""
    ('', True, True)
    """
    import copy
    from pydicom.dataset import Dataset
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds must be a pydicom Dataset, got {type(ds).__name__}")
    ctx = _Context(_key_bytes(key), _parse_options(options), set(), True)
    ctx.file = name
    out = copy.deepcopy(ds)
    _profile(out, ctx)
    return out, ctx.changes


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
MAX_FILES = 20_000          # a folder larger than this is refused (several studies: de-identify each)


class _ShortReadWatch:
    """A read-only file wrapper that notices a read returning fewer bytes than asked (pydicom reads a
    truncated file silently). The one allowed short read is the empty 8-byte read at the end of the file."""

    def __init__(self, fh):
        self._fh = fh
        self.name = getattr(fh, "name", "<file>")
        self._pending = False
        self.short = False

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        if self._pending:           # an earlier short read was not the final one
            self.short = True
        if n is not None and n > 0 and len(data) < n:
            if len(data) == 0 and n == 8:
                self._pending = True
            else:
                self.short = True
        return data

    def seek(self, *args):
        self._pending = False
        return self._fh.seek(*args)

    def tell(self) -> int:
        return self._fh.tell()

    def __getattr__(self, name):
        return getattr(self._fh, name)


def _read(path: Path):
    """(dataset, None) for a readable DICOM file, (None, reason) for a file that is not DICOM.

    Raises ValueError for a DICOM file that is damaged (truncated header or pixel data)."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        return None, f"cannot be read: {exc}"
    if not (len(head) == 132 and head[128:132] == b"DICM"):
        return None, "not a DICOM file (no 'DICM' preamble)"
    try:
        with open(path, "rb") as raw:
            fh = _ShortReadWatch(raw)
            ds = pydicom.dcmread(fh)
            for _ in ds.iterall():      # parse every element now, while the watch is on
                pass
        if fh.short:
            raise ValueError(f"src: {path} is a truncated DICOM file (it ends inside an element); nothing "
                             "was written. Replace the file and run again.")
    except InvalidDicomError:
        return None, "not a DICOM file"
    except ValueError:
        raise
    except Exception as exc:        # pydicom raises several types for damaged data
        raise ValueError(f"src: {path} is a damaged DICOM file ({type(exc).__name__}: {exc}); nothing was "
                         "written. Remove or replace it and run again.") from None
    if "PixelData" in ds:
        _check_pixel_length(ds, path)
    return ds, None


def _check_pixel_length(ds, path: Path) -> None:
    from pydicom.uid import UID
    ts = UID(str(getattr(ds.file_meta, "TransferSyntaxUID", "1.2.840.10008.1.2.1")))
    if ts.is_compressed:
        return
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1))
        if str(ds.get("PhotometricInterpretation", "")).startswith("YBR_FULL_422"):
            samples = 2         # chroma subsampled: 2 samples per pixel on average
        expected = (int(ds.Rows) * int(ds.Columns) * samples * frames * int(ds.BitsAllocated)) // 8
    except (AttributeError, TypeError, ValueError):
        return
    got = len(ds.PixelData)
    if got < expected:
        raise ValueError(f"src: {path} is a truncated DICOM file (Pixel Data has {got} bytes, the header "
                         f"asks for {expected}); nothing was written. Replace the file and run again.")


def _clean_pixels(ds, boxes: Sequence[tuple[int, int, int, int]], path: Path) -> None:
    from pydicom.uid import UID
    ts = UID(str(getattr(ds.file_meta, "TransferSyntaxUID", "1.2.840.10008.1.2.1")))
    if ts.is_compressed:
        raise ValueError(f"clean_boxes: {path} has compressed pixel data ({ts.name}); box cleaning here "
                         "works on uncompressed files only. Decompress it first (e.g. ds.decompress()).")
    arr = ds.pixel_array.copy()
    rows, cols = int(ds.Rows), int(ds.Columns)
    fill = arr.min()
    for r0, c0, r1, c1 in boxes:
        if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
            raise ValueError(f"clean_boxes: box {(r0, c0, r1, c1)} is outside the {rows}x{cols} image of "
                             f"{path}; boxes are (row0, col0, row1, col1) with 0 <= row0 < row1 <= rows")
        if arr.ndim == 2 or (arr.ndim == 3 and int(ds.get("SamplesPerPixel", 1)) > 1 and
                             int(ds.get("NumberOfFrames", 1) or 1) == 1):
            arr[r0:r1, c0:c1] = fill
        else:
            arr[:, r0:r1, c0:c1] = fill
    ds.PixelData = arr.astype(arr.dtype, copy=False).tobytes()
    ds.BurnedInAnnotation = "NO"


def _check_boxes(boxes: Any) -> list[tuple[int, int, int, int]] | None:
    if boxes is None:
        return None
    try:
        out = [tuple(check_int(v, "clean_boxes value", low=0) for v in b) for b in boxes]
    except TypeError:
        raise TypeError("clean_boxes must be a list of (row0, col0, row1, col1) integer boxes") from None
    if not out or any(len(b) != 4 for b in out):
        raise ValueError("clean_boxes must be a non-empty list of (row0, col0, row1, col1) boxes")
    return out  # type: ignore[return-value]


def _check_paths(src: Any, dst: Any) -> tuple[Path, Path, list[Path], Path]:
    if not isinstance(src, (str, os.PathLike)):
        raise TypeError(f"src must be a path (str or Path), got {type(src).__name__}")
    if not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"dst must be a path (str or Path), got {type(dst).__name__}")
    s, d = Path(src).resolve(), Path(dst).resolve()
    if not s.exists():
        raise FileNotFoundError(f"src: {src} does not exist")
    root = s if s.is_dir() else s.parent
    if d == s or (s.is_dir() and s in d.parents):
        raise ValueError(f"dst ({dst}) must not be inside src ({src}): write the de-identified copy elsewhere")
    if d.exists() and (not d.is_dir() or any(d.iterdir())):
        raise ValueError(f"dst ({dst}) exists and is not an empty folder; choose a new folder "
                         "(de-identified output is never mixed with other files)")
    if s.is_dir():
        files = sorted(p for p in s.rglob("*") if p.is_file())
        if len(files) > MAX_FILES:
            raise ValueError(f"src has {len(files)} files; the limit is {MAX_FILES} (de-identify one study "
                             "or series folder at a time)")
    else:
        files = [s]
    return s, d, files, root


def deidentify(src: str | os.PathLike, dst: str | os.PathLike, *, key: str | bytes,
               options: Iterable[str] = (), report: bool = True,
               clean_boxes: Sequence[tuple[int, int, int, int]] | None = None,
               safe_private: Iterable[tuple[int, str, int]] = ()) -> Report:
    """De-identify a DICOM file or folder (recursively) into ``dst`` with the PS3.15 Basic Profile.

    Used in 11 §2-§6.

    Parameters
    ----------
    src : a DICOM file or a folder of them; never modified. Files that are not DICOM are skipped (and listed
        in ``Report.skipped``); a damaged (truncated) DICOM file stops the run with ``ValueError``.
    dst : the output folder (created; refused if it exists and is not empty, or lies inside ``src``). File
        names and sub-folders are kept. Everything is written to a temporary folder next to ``dst`` first and
        moved into place at the end, so an error leaves no half-written output.
    key : the secret behind the keyed UIDs (:func:`keyed_uid`) and the date shift (:func:`date_shift_days`).
    options : names from :data:`OPTIONS` (or their CID 7050 codes), e.g. ``["modified_dates"]``.
    report : record every attribute handled (``Report.changes``); ``False`` keeps only the summary.
    clean_boxes : ``[(row0, col0, row1, col1), ...]`` pixel boxes blanked in every image (a known layout of
        burned-in text). A file with Burned In Annotation = YES is refused unless boxes are given.
    safe_private : ``{(group, private creator, element & 0xFF)}`` kept when ``"safe_private"`` is an option.

    Returns
    -------
    Report
    """
    key_b = _key_bytes(key)
    opts = _parse_options(options)
    boxes = _check_boxes(clean_boxes)
    if not isinstance(report, (bool, np.bool_)):
        raise TypeError(f"report must be True or False, got {type(report).__name__}")
    safe: set[tuple[int, str, int]] = set()
    for entry in safe_private:
        try:
            g, creator, e = entry
            safe.add((int(g), str(creator).strip(), int(e) & 0xFF))
        except (TypeError, ValueError):
            raise TypeError("safe_private entries must be (group, private creator, element) tuples, "
                            f"got {entry!r}") from None
    s, d, files, root = _check_paths(src, dst)
    rep = Report(str(src), str(dst), detailed=bool(report))
    ctx = _Context(key_b, opts, safe, bool(report))
    d.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".deid-", dir=d.parent))
    try:
        for f in files:
            rel = f.relative_to(root) if s.is_dir() else Path(f.name)
            ds, reason = _read(f)
            if ds is None:
                if not s.is_dir():
                    raise ValueError(f"src: {src} is {reason}")
                rep.skipped.append((str(rel), str(reason)))
                continue
            burned = str(ds.get("BurnedInAnnotation", "")).upper() == "YES"
            if burned and boxes is None:
                raise ValueError(f"src: {rel} has Burned In Annotation (0028,0301) = YES: text in the pixels may "
                                 "identify the patient. Nothing was written. Pass clean_boxes=[(row0, col0, "
                                 "row1, col1), ...] covering the text, or leave the file out.")
            ctx.file = str(rel)
            if boxes is not None and "PixelData" in ds:
                _clean_pixels(ds, boxes, f)
            codes = _profile(ds, ctx, pixel_cleaned=boxes is not None and "PixelData" in ds)
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(out, enforce_file_format=True)
            rep.files.append(str(rel))
            rep.option_codes = codes
        if not rep.files:
            raise ValueError(f"src: no DICOM file found in {src} (skipped: {len(rep.skipped)}); nothing written")
        if d.exists():
            d.rmdir()
        os.replace(tmp, d)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rep.changes = ctx.changes
    rep.uids_replaced = len(ctx.uid_map)
    if not rep.option_codes:
        rep.option_codes = [BASIC_CODE]
    return rep


# --------------------------------------------------------------------------------------------
# audit: what is left that could identify a person
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One attribute left in a file that a data officer should look at before release."""

    file: str
    path: str
    tag: str
    keyword: str
    kind: str      # name, date, id, free text, age, private, overlay/curve, burned-in
    value: str     # masked

    def __str__(self) -> str:
        return f"{self.file}: {self.path} {self.tag} [{self.kind}] {self.value}"


_ID_WORDS = re.compile(r"(ID|IDs|Number|Numbers|Locator)$")
_FREE_WORDS = re.compile(r"(Description|Comments?|Text|Notes?|Remarks?|Address|Name|Label|History|Reason|"
                         r"Allergies|Occupation|Indication|Diagnos\w*|Title|Protocol\w*|Affiliation)")
_NOT_PERSON = {"ManufacturerModelName", "Manufacturer", "CodeMeaning", "CodingSchemeName",
               "DeidentificationMethod", "ContentLabel", "PhotometricInterpretation"}


def _kind(elem) -> str | None:
    vr, kw = elem.VR, elem.keyword or ""
    value = elem.value
    if value in (None, "", b"") or (hasattr(value, "__len__") and len(value) == 0):
        return None
    text = _show(value)
    if text in _DUMMY_VALUES or text.strip("\\") in _DUMMY_VALUES:
        return None
    if kw == "BurnedInAnnotation":
        return "burned-in" if str(value).upper() == "YES" else None
    if vr == "PN":
        return "name"
    if vr in ("DA", "DT"):
        return "date"
    if vr == "AS":
        return "age"
    if vr in ("LO", "SH", "CS", "UC", "ST", "LT") and _ID_WORDS.search(kw) and kw not in _NOT_PERSON:
        return "id"
    if vr in ("LT", "ST", "UT", "UC"):
        return "free text"
    if vr in ("LO", "SH") and _FREE_WORDS.search(kw) and kw not in _NOT_PERSON:
        return "free text"
    return None


def audit(path: str | os.PathLike) -> list[Finding]:
    """Every remaining attribute that could identify a person, in a DICOM file or folder (recursively).

    Looks for person names (PN), dates (DA, DT), ages, IDs (LO/SH/CS attributes whose keyword ends in ID,
    Number or Locator), free text (LT, ST, UT, UC and LO/SH descriptions, comments, names, addresses...),
    private attributes, overlay and curve groups and Burned In Annotation = YES, inside sequences too.
    UIDs, empty values and this module's dummy values are not listed. Used in 11 §3.

    >>> from pydicom.data import get_testdata_file
    >>> kinds = {f.kind for f in audit(get_testdata_file("CT_small.dcm"))}
    >>> sorted(kinds & {"name", "date", "private"})
    ['date', 'name', 'private']
    """
    import pydicom
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file or folder path, got {type(path).__name__}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path: {path} does not exist")
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    if len(files) > MAX_FILES:
        raise ValueError(f"path has {len(files)} files; the limit is {MAX_FILES}")
    found: list[Finding] = []
    for f in files:
        name = str(f.relative_to(p)) if p.is_dir() else f.name
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:  # not DICOM: not audited here
            continue

        def visit(d, prefix=""):
            for elem in d:
                tag = int(elem.tag)
                group = tag >> 16
                kw = elem.keyword or ""
                where = f"{prefix}{kw or elem.tag}"
                tagtext = f"({group:04X},{tag & 0xFFFF:04X})"
                if group % 2 == 1:
                    found.append(Finding(name, where, tagtext, kw or "(private)", "private",
                                         _mask(elem.value) if elem.VR != "SQ" else "<sequence>"))
                    continue
                if (0x5000 <= group <= 0x501E or 0x6000 <= group <= 0x601E) and group % 2 == 0:
                    found.append(Finding(name, where, tagtext, kw, "overlay/curve", _mask(elem.value)))
                    continue
                if elem.VR == "SQ":
                    if kw == "DeidentificationMethodCodeSequence":
                        continue
                    for i, item in enumerate(elem.value or ()):
                        visit(item, f"{where}[{i}].")
                    continue
                kind = _kind(elem)
                if kind:
                    found.append(Finding(name, where, tagtext, kw, kind, _mask(elem.value)))
        visit(ds)
    return found


# --------------------------------------------------------------------------------------------
# teaching helpers: a naive remover, naive random UIDs, burned-in text, tool diff, uniqueness
# --------------------------------------------------------------------------------------------
#: The hand-written remover of 11 §2: the 15 rules a first attempt usually has.
NAIVE_RULES: tuple[tuple[str, str], ...] = (
    ("PatientName", "Z"), ("PatientID", "Z"), ("PatientBirthDate", "Z"), ("PatientSex", "Z"),
    ("PatientAge", "X"), ("PatientAddress", "X"), ("OtherPatientIDs", "X"), ("OtherPatientNames", "X"),
    ("ReferringPhysicianName", "Z"), ("InstitutionName", "X"), ("InstitutionAddress", "X"),
    ("AccessionNumber", "Z"), ("StudyDate", "Z"), ("PerformingPhysicianName", "X"), ("OperatorsName", "X"),
)


def _files_of(src: Path) -> tuple[Path, list[Path]]:
    if src.is_dir():
        return src, sorted(p for p in src.rglob("*") if p.is_file())
    return src.parent, [src]


def _new_output(src: Any, dst: Any) -> tuple[Path, Path, list[Path]]:
    s, d, files, root = _check_paths(src, dst)
    d.mkdir(parents=True, exist_ok=True)
    return (s if s.is_dir() else s.parent), d, files


def naive_deidentify(src: str | os.PathLike, dst: str | os.PathLike) -> list[str]:
    """Apply only :data:`NAIVE_RULES` (top level, no sequences, no UIDs, no private tags) into ``dst``.

    The point of 11 §2: compare its output with :func:`deidentify` using :func:`compare_outputs`.
    Returns the written file names (relative). Non-DICOM files are skipped.
    """
    root, d, files = _new_output(src, dst)
    written = []
    for f in files:
        ds, reason = _read(f)
        if ds is None:
            continue
        for kw, act in NAIVE_RULES:
            if kw in ds:
                if act == "X":
                    del ds[kw]
                else:
                    _empty(ds[kw])
        rel = f.relative_to(root)
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(d / rel, enforce_file_format=True)
        written.append(str(rel))
    return written


def random_uids(src: str | os.PathLike, dst: str | os.PathLike, *, seed: int) -> list[str]:
    """The wrong way (11 §4): give every UID of every file a fresh random UID, file by file.

    Each slice then gets its own Study, Series and Frame of Reference UID: the series falls apart.
    """
    from pydicom.uid import generate_uid
    rng = np.random.default_rng(check_int(seed, "seed", low=0))
    root, d, files = _new_output(src, dst)
    written = []
    for f in files:
        ds, reason = _read(f)
        if ds is None:
            continue
        for elem in ds.iterall():
            if elem.VR == "UI" and elem.keyword not in ("SOPClassUID", "ReferencedSOPClassUID",
                                                         "TransferSyntaxUID") and elem.value:
                elem.value = generate_uid(entropy_srcs=[str(rng.integers(2**62))])
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        rel = f.relative_to(root)
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(d / rel, enforce_file_format=True)
        written.append(str(rel))
    return written


def add_burned_in_text(src: str | os.PathLike, dst: str | os.PathLike, text: str = "DOE^JANE 19700101",
                       position: tuple[int, int] = (8, 8), scale: int = 2) -> tuple[int, int, int, int]:
    """Write a copy of one DICOM file with ``text`` drawn into its pixels and Burned In Annotation = YES.

    A synthetic stand-in for the text some scanners burn into secondary captures (11 §6). Returns the box
    ``(row0, col0, row1, col1)`` that covers the text (what :func:`deidentify` takes as ``clean_boxes``).
    """
    import pydicom
    from PIL import Image, ImageDraw, ImageFont
    if not isinstance(text, str) or not text or len(text) > 64:
        raise ValueError("text must be a non-empty string of at most 64 characters")
    scale = check_int(scale, "scale", low=1, high=8)
    r, c = (check_int(v, "position", low=0) for v in position)
    s, d = Path(src).resolve(), Path(dst).resolve()
    if s == d:
        raise ValueError("dst must differ from src (src is never modified)")
    ds, reason = _read(s)
    if ds is None:
        raise ValueError(f"src: {src} is {reason}")
    arr = ds.pixel_array
    if arr.ndim != 2:
        raise ValueError("src must be a single-frame greyscale image")
    font = ImageFont.load_default()
    probe = Image.new("L", (8 * len(text) + 8, 16))
    ImageDraw.Draw(probe).text((0, 0), text, fill=255, font=font)
    mask = np.array(probe) > 0
    mask = np.kron(mask, np.ones((scale, scale), bool))
    h = min(mask.shape[0], arr.shape[0] - r)
    w = min(mask.shape[1], arr.shape[1] - c)
    if h <= 0 or w <= 0:
        raise ValueError(f"position {position} is outside the {arr.shape} image")
    out = arr.copy()
    region = out[r:r + h, c:c + w]
    region[mask[:h, :w]] = arr.max()
    ds.PixelData = out.tobytes()
    ds.BurnedInAnnotation = "YES"
    d.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(d, enforce_file_format=True)
    rows, cols = np.nonzero(mask[:h, :w])
    return (r + int(rows.min()), c + int(cols.min()), r + int(rows.max()) + 1, c + int(cols.max()) + 1)


def _status(orig, new) -> str:
    if new is None:
        return "removed"
    ov, nv = orig.value, new.value
    if nv in (None, "", b"") or (hasattr(nv, "__len__") and not isinstance(nv, (str, bytes)) and len(nv) == 0):
        return "emptied"
    if orig.VR == "SQ":
        return "kept" if len(ov or ()) == len(nv or ()) else "replaced"
    return "kept" if _show(ov) == _show(nv) else "replaced"


def compare_outputs(original: str | os.PathLike, a: str | os.PathLike, b: str | os.PathLike,
                    names: tuple[str, str] = ("a", "b")) -> list[dict[str, str]]:
    """Per top-level attribute of one original file: what output ``a`` and output ``b`` did with it.

    Each of ``a`` and ``b`` is the de-identified copy of ``original`` (a file). Status: kept, replaced,
    emptied, removed (and ``added`` for attributes only in an output). Only rows where the two differ are
    returned. Used in 11 §2 (hand-written remover vs the profile) and 11 §3 (this module vs dicognito).
    """
    import pydicom
    o = pydicom.dcmread(original, stop_before_pixels=True)
    x = pydicom.dcmread(a, stop_before_pixels=True)
    y = pydicom.dcmread(b, stop_before_pixels=True)
    rows = []
    tags = sorted(set(o.keys()) | set(x.keys()) | set(y.keys()))
    for t in tags:
        eo, ex, ey = o.get(t), x.get(t), y.get(t)
        if eo is None:
            sx, sy = ("added" if ex is not None else "-"), ("added" if ey is not None else "-")
            ref = ex if ex is not None else ey
        else:
            sx, sy = _status(eo, ex), _status(eo, ey)
            ref = eo
        if sx == sy:
            continue
        kw = ref.keyword or ("(private)" if t.group % 2 else str(t))
        rows.append({"tag": f"({t.group:04X},{t.element:04X})", "keyword": kw,
                     "original": _mask(eo.value) if eo is not None and eo.VR != "SQ" else "",
                     names[0]: sx, names[1]: sy})
    return rows


def run_dicognito(src: str | os.PathLike, dst: str | os.PathLike, *, seed: str) -> list[str]:
    """De-identify with the independent tool ``dicognito`` (its public ``Anonymizer`` API), for comparison.

    Non-DICOM files are skipped. Returns the written file names. Used in 11 §3 and the benchmark.
    """
    from dicognito.anonymizer import Anonymizer
    if not isinstance(seed, str) or not seed:
        raise ValueError("seed must be a non-empty string")
    root, d, files = _new_output(src, dst)
    anon = Anonymizer(seed=seed)
    written = []
    for f in files:
        ds, reason = _read(f)
        if ds is None:
            continue
        anon.anonymize(ds)
        rel = f.relative_to(root)
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(d / rel, enforce_file_format=True)
        written.append(str(rel))
    return written


def uniqueness(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> dict[str, float]:
    """Re-identification risk from quasi-identifiers: how many records are unique on ``columns``.

    Returns ``{"unique_fraction", "min_k", "median_k"}`` where k is the size of a record's group of records
    sharing the same values (k-anonymity: every record hides among at least ``min_k``). Used in 11 §6.

    >>> recs = [{"sex": "F", "age": 50}, {"sex": "F", "age": 50}, {"sex": "M", "age": 61}]
    >>> uniqueness(recs, ["sex", "age"])
    {'unique_fraction': 0.3333333333333333, 'min_k': 1, 'median_k': 2.0}
    """
    if not records:
        raise ValueError("records must not be empty")
    if isinstance(columns, str) or not columns:
        raise ValueError("columns must be a non-empty list of column names")
    missing = [c for c in columns if c not in records[0]]
    if missing:
        raise ValueError(f"columns {missing} are not in the records (have {sorted(records[0])})")
    keys = [tuple(r[c] for c in columns) for r in records]
    counts: dict[tuple, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    ks = np.array([counts[k] for k in keys])
    return {"unique_fraction": float(np.mean(ks == 1)), "min_k": int(ks.min()), "median_k": float(np.median(ks))}


# ============================================================================================
# federated averaging and DP-SGD (Keras; TensorFlow imported inside the functions)
# ============================================================================================
MAX_EPOCHS = 200            # local epochs x rounds, or DP-SGD epochs
MAX_EXAMPLES = 20_000       # per client / per training set (28x28 images: ~60 MB as float32)


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    return tf


class _quiet_tf:
    """Raise the TensorFlow logger to ERROR for a block, then restore it."""

    def __enter__(self):
        import logging
        self._log = logging.getLogger("tensorflow")
        self._level = self._log.level
        self._log.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        self._log.setLevel(self._level)


def _images(x: Any, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of images (N, H, W) or (N, H, W, 1), "
                        f"got {type(x).__name__}")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, H, W) or (N, H, W, 1) with N >= 1, got {x.shape}")
    if x.shape[0] > MAX_EXAMPLES:
        raise ValueError(f"{name} has {x.shape[0]} images; the limit is {MAX_EXAMPLES} (take a subset)")
    out = x.astype(np.float32)
    if not np.isfinite(out).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if x.dtype == np.uint8:
        out /= 255.0
    return out


def _labels(y: Any, n: int, name: str) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels for {n} images")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must be binary labels 0/1, got values {np.unique(y)[:5]}")
    return y.astype(np.float32).reshape(-1, 1)


class _Trainer:
    """One Keras model and its traced train steps, reused by every run of the same input shape and seed
    (each run starts from the saved initial weights): tracing once instead of per run saves seconds."""

    def __init__(self, input_shape: tuple[int, ...], seed: int):
        from .training import seed_cnn
        tf = _tf()
        self.model = seed_cnn(input_shape, seed=seed)      # the article's small CNN, initialised from seed
        self.initial = [np.array(v) for v in self.model.get_weights()]
        self.lr = tf.Variable(0.05, dtype=tf.float32, trainable=False)
        self.clip = tf.Variable(1.0, dtype=tf.float32, trainable=False)
        self.std = tf.Variable(0.0, dtype=tf.float32, trainable=False)
        self.seed = seed
        self.sgd = _sgd_step(self.model, self.lr)
        self.dp = _dp_step(self.model, self.lr, self.clip, self.std, seed)

    def reset(self, lr: float, clip: float = 1.0, std: float = 0.0) -> None:
        self.model.set_weights(self.initial)
        self.lr.assign(lr)
        self.clip.assign(clip)
        self.std.assign(std)


_TRAINERS: dict[tuple, _Trainer] = {}


def _trainer(input_shape: tuple[int, ...], seed: int) -> _Trainer:
    key = (tuple(int(v) for v in input_shape), int(seed))
    if key not in _TRAINERS:
        if len(_TRAINERS) >= 8:
            _TRAINERS.pop(next(iter(_TRAINERS)))
        _TRAINERS[key] = _Trainer(*key)
    return _TRAINERS[key]


_EVAL_BATCH = 64   # eager batches this small keep the activations (and the kernel's peak memory) small


def _auc(model, x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score
    p = np.concatenate([np.asarray(model(x[i:i + _EVAL_BATCH], training=False))
                        for i in range(0, len(x), _EVAL_BATCH)])
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y.reshape(-1), p.reshape(-1)))


def _sgd_step(model, lr: float):
    tf = _tf()
    variables = model.trainable_variables

    @tf.function(reduce_retracing=True)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            p = model(xb, training=True)
            loss = tf.reduce_mean(_bce(tf, yb, p))
        grads = tape.gradient(loss, variables)
        for v, g in zip(variables, grads):
            v.assign_sub(lr * g)
        return loss
    return step


def _bce(tf, y, p):
    p = tf.clip_by_value(p, 1e-7, 1 - 1e-7)
    return -(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))[:, 0]


def _dp_step(model, lr, clip, std, seed: int):
    """One DP-SGD step: per-example gradients, each clipped to L2 norm ``clip``, summed, plus Gaussian noise
    N(0, std^2) per coordinate (std = noise multiplier * clip), divided by the batch size."""
    tf = _tf()
    variables = model.trainable_variables

    def one(args):
        xi, yi = args
        with tf.GradientTape() as tape:
            p = model(xi[None], training=True)
            loss = tf.reduce_sum(_bce(tf, yi[None], p))
        g = tape.gradient(loss, variables)
        norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(gi)) for gi in g]))
        factor = tf.minimum(1.0, clip / tf.maximum(norm, 1e-12))
        return [gi * factor for gi in g], norm

    @tf.function(reduce_retracing=True)
    def step(xb, yb, counter):
        grads, norms = tf.vectorized_map(one, (xb, yb))
        b = tf.cast(tf.shape(xb)[0], tf.float32)
        for k, (v, g) in enumerate(zip(variables, grads)):
            total = tf.reduce_sum(g, axis=0)
            total += tf.random.stateless_normal(v.shape, seed=tf.stack([seed, counter * 1000 + k])) * std
            v.assign_sub(lr * total / b)
        return tf.reduce_mean(norms)
    return step


def _epochs(step, x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, seed: int, stream: int,
            start: int, counter: list[int] | None = None) -> None:
    """Run ``epochs`` epochs; epoch ``start + e`` of ``stream`` is shuffled by rng([seed, stream, start+e])."""
    tf = _tf()
    for e in range(epochs):
        order = np.random.default_rng([seed, stream, start + e]).permutation(len(x))
        for b in range(0, len(x), batch_size):
            sel = order[b:b + batch_size]
            if counter is None:
                step(tf.constant(x[sel]), tf.constant(y[sel]))
            else:
                step(tf.constant(x[sel]), tf.constant(y[sel]), tf.constant(counter[0], tf.int32))
                counter[0] += 1


def _check_train(epochs, batch_size, learning_rate, seed):
    from ._validate import check_float, check_seed
    return (check_int(epochs, "epochs", low=1, high=MAX_EPOCHS, why_high="time on 2 cores"),
            check_int(batch_size, "batch_size", low=1, high=4096),
            check_float(learning_rate, "learning_rate", low=0.0, low_open=True, high=10.0),
            check_seed(seed))


@dataclass
class TrainResult:
    """Trained weights and the test AUC after each epoch (or round): ``history[i]`` after ``i + 1``.

    ``model`` builds a Keras model (the article's CNN) holding ``weights`` when first asked for."""

    weights: list[np.ndarray]
    history: list[float]
    seconds: float
    config: dict[str, Any]
    epsilon: float | None = None
    delta: float | None = None
    input_shape: tuple[int, ...] = (28, 28, 1)
    _model: Any = field(default=None, repr=False)

    @property
    def model(self):
        if self._model is None:
            from .training import seed_cnn
            self._model = seed_cnn(self.input_shape, seed=int(self.config.get("seed", 0)))
            self._model.set_weights(self.weights)
        return self._model


def train_sgd(x: np.ndarray, y: Any, *, epochs: int = 3, batch_size: int = 32, learning_rate: float = 0.05,
              seed: int = 0, test: tuple[np.ndarray, Any] | None = None, stream: int = 0) -> TrainResult:
    """Plain minibatch SGD (no momentum) of the article's CNN: the reference for FedAvg and DP-SGD.

    Epoch ``e`` is shuffled by ``numpy.random.default_rng([seed, stream, e])``. ``history``: test AUC after
    each epoch (empty without ``test``). Used in 11 §7.
    """
    import time
    epochs, batch_size, learning_rate, seed = _check_train(epochs, batch_size, learning_rate, seed)
    xs = _images(x, "x")
    ys = _labels(y, len(xs), "y")
    xt, yt = (_images(test[0], "test images"), _labels(test[1], len(test[0]), "test labels")) if test else (None, None)
    t0 = time.perf_counter()
    tr = _trainer(xs.shape[1:], seed)
    tr.reset(learning_rate)
    history = []
    for e in range(epochs):
        _epochs(tr.sgd, xs, ys, epochs=1, batch_size=batch_size, seed=seed, stream=stream, start=e)
        if xt is not None:
            history.append(_auc(tr.model, xt, yt))
    return TrainResult([np.array(v) for v in tr.model.get_weights()], history, time.perf_counter() - t0,
                       {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed},
                       input_shape=tuple(xs.shape[1:]))


def hospital_splits(x: np.ndarray, y: Any, *, sizes: Sequence[int] = (600, 300, 150),
                    positive: Sequence[float] = (0.9, 0.5, 0.1), heterogeneity: float = 1.0,
                    seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Simulated hospitals: disjoint subsets of ``(x, y)`` with different sizes and class ratios (non-IID).

    Hospital ``k`` gets ``sizes[k]`` images, a fraction ``(1 - h) * p + h * positive[k]`` of them positive
    (``p`` the fraction in ``y``, ``h = heterogeneity``): ``h = 0`` is IID, ``h = 1`` the given ratios.
    Drawn without replacement after a seeded shuffle. Used in 11 §7.

    >>> x = np.zeros((100, 28, 28), np.uint8); y = np.r_[np.zeros(50), np.ones(50)]
    >>> [(len(a), int(b.sum())) for a, b in hospital_splits(x, y, sizes=(40, 20), positive=(0.75, 0.25))]
    [(40, 30), (20, 5)]
    """
    from ._validate import check_float, check_seed
    y = np.asarray(y).reshape(-1)
    if not isinstance(x, np.ndarray) or len(x) != len(y):
        raise ValueError("x must be a numpy array with one image per label in y")
    if len(sizes) != len(positive) or not 1 <= len(sizes) <= 20:
        raise ValueError(f"sizes and positive must have the same length, 1 to 20 hospitals; got {len(sizes)} "
                         f"and {len(positive)}")
    h = check_float(heterogeneity, "heterogeneity", 0.0, 1.0)
    sizes = [check_int(s, "sizes", low=2, high=MAX_EXAMPLES) for s in sizes]
    rng = np.random.default_rng(check_seed(seed))
    pos = list(rng.permutation(np.flatnonzero(y == 1)))
    neg = list(rng.permutation(np.flatnonzero(y == 0)))
    p_all = float(np.mean(y == 1))
    out = []
    for n, target in zip(sizes, positive):
        frac = (1 - h) * p_all + h * check_float(target, "positive", 0.0, 1.0)
        n_pos = int(round(n * frac))
        n_neg = n - n_pos
        if n_pos > len(pos) or n_neg > len(neg):
            raise ValueError(f"sizes: not enough images left for a hospital of {n} with {n_pos} positive "
                             f"({len(pos)} positive and {len(neg)} negative left); use smaller sizes")
        take = np.array(pos[:n_pos] + neg[:n_neg], dtype=int)
        del pos[:n_pos], neg[:n_neg]
        take = take[rng.permutation(len(take))]
        out.append((x[take], y[take]))
    return out


def fedavg(clients: Sequence[tuple[np.ndarray, Any]], *, rounds: int = 5, local_epochs: int = 1,
           batch_size: int = 32, learning_rate: float = 0.05, weighting: str = "size", seed: int = 0,
           test: tuple[np.ndarray, Any] | None = None, on_round: Any = None) -> TrainResult:
    """Federated averaging (McMahan et al. 2017) of the article's CNN across ``clients`` = [(x, y), ...].

    Each round every client starts from the global weights, runs ``local_epochs`` epochs of plain SGD on its
    own data only (its epochs shuffled as in :func:`train_sgd` with ``stream`` = client index), and sends its
    weights back; the server averages them, weighted by client size (``weighting="size"``, FedAvg's
    ``n_k / n``) or equally (``"equal"``). The data never leaves a client; the weights do. ``history``: test
    AUC of the global model after each round. ``on_round(r, auc)`` is called after each round (for a
    progress bar). With one client this is exactly :func:`train_sgd` for ``rounds * local_epochs`` epochs.
    Used in 11 §7.
    """
    import time
    from ._validate import check_choice
    if not isinstance(clients, (list, tuple)) or not clients:
        raise TypeError("clients must be a non-empty list of (images, labels) pairs")
    if len(clients) > 20:
        raise ValueError(f"clients: at most 20 simulated hospitals, got {len(clients)}")
    rounds = check_int(rounds, "rounds", low=1, high=MAX_EPOCHS)
    local_epochs = check_int(local_epochs, "local_epochs", low=1, high=MAX_EPOCHS)
    if rounds * local_epochs > MAX_EPOCHS:
        raise ValueError(f"rounds * local_epochs must be <= {MAX_EPOCHS} (time on 2 cores), got "
                         f"{rounds * local_epochs}")
    _, batch_size, learning_rate, seed = _check_train(1, batch_size, learning_rate, seed)
    weighting = check_choice(weighting, "weighting", ("size", "equal"))
    data = []
    for k, pair in enumerate(clients):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"clients[{k}] must be an (images, labels) pair")
        xs = _images(pair[0], f"clients[{k}] images")
        data.append((xs, _labels(pair[1], len(xs), f"clients[{k}] labels")))
    shapes = {d[0].shape[1:] for d in data}
    if len(shapes) != 1:
        raise ValueError(f"clients must all have images of one shape, got {sorted(shapes)}")
    xt, yt = (_images(test[0], "test images"), _labels(test[1], len(test[0]), "test labels")) if test else (None, None)
    sizes = np.array([len(d[0]) for d in data], float)
    w = sizes / sizes.sum() if weighting == "size" else np.full(len(data), 1.0 / len(data))
    t0 = time.perf_counter()
    shape = shapes.pop()
    tr = _trainer(shape, seed)
    tr.reset(learning_rate)
    model, step = tr.model, tr.sgd
    global_w = [np.array(v) for v in model.get_weights()]
    history = []
    for r in range(rounds):
        new = [np.zeros_like(g) for g in global_w]
        for k, (xs, ys) in enumerate(data):
            model.set_weights(global_w)
            _epochs(step, xs, ys, epochs=local_epochs, batch_size=batch_size, seed=seed, stream=k,
                    start=r * local_epochs)
            for acc, v in zip(new, model.get_weights()):
                acc += w[k] * v if len(data) > 1 else v
        global_w = new
        model.set_weights(global_w)
        if xt is not None:
            history.append(_auc(model, xt, yt))
        if on_round is not None:
            on_round(r + 1, history[-1] if history else None)
    return TrainResult(global_w, history, time.perf_counter() - t0,
                       {"rounds": rounds, "local_epochs": local_epochs, "batch_size": batch_size,
                        "learning_rate": learning_rate, "weighting": weighting, "seed": seed,
                        "client_sizes": [int(s) for s in sizes], "client_weights": [float(v) for v in w]},
                       input_shape=tuple(shape))


def compare_federated(clients: Sequence[tuple[np.ndarray, Any]], test: tuple[np.ndarray, Any], *,
                      rounds: int = 5, local_epochs: int = 1, batch_size: int = 32, learning_rate: float = 0.05,
                      weighting: str = "size", seed: int = 0) -> dict[str, Any]:
    """Test AUC per round of federated vs local-only (each hospital alone) vs central (pooled) training.

    Same model, seed, optimiser and number of epochs for all three (round ``r`` = ``r * local_epochs``
    epochs). Returns ``{"rounds", "federated", "central", "local" (one list per client), "seconds"}``.
    Used in 11 §7 and by the FedAvg explorer.
    """
    import time
    t0 = time.perf_counter()
    fed = fedavg(clients, rounds=rounds, local_epochs=local_epochs, batch_size=batch_size,
                 learning_rate=learning_rate, weighting=weighting, seed=seed, test=test)
    epochs = rounds * local_epochs
    local = []
    for k, (xs, ys) in enumerate(clients):
        run = train_sgd(xs, ys, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                        test=test, stream=k)
        local.append(run.history[local_epochs - 1::local_epochs])
    xa = np.concatenate([c[0] for c in clients])
    ya = np.concatenate([np.asarray(c[1]).reshape(-1) for c in clients])
    central = train_sgd(xa, ya, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                        test=test, stream=len(clients))
    return {"rounds": list(range(1, rounds + 1)), "federated": fed.history,
            "central": central.history[local_epochs - 1::local_epochs], "local": local,
            "client_sizes": fed.config["client_sizes"],
            "client_positive": [float(np.mean(np.asarray(c[1]) == 1)) for c in clients],
            "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------------------------
# privacy accounting
# --------------------------------------------------------------------------------------------
DEFAULT_ORDERS = tuple(range(2, 257))


def _log_add(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return hi if lo == -np.inf else hi + np.log1p(np.exp(lo - hi))


def rdp_sampled_gaussian(noise_multiplier: float, sample_rate: float, order: int) -> float:
    """RDP of one step of the Poisson-subsampled Gaussian mechanism at integer ``order`` (by hand).

    ``log A / (order - 1)`` with ``A = sum_k C(order, k) (1-q)^(order-k) q^k exp((k^2 - k) / (2 sigma^2))``
    (Mironov, Talwar, Zhang 2019, integer orders). Without sampling (q = 1) it is ``order / (2 sigma^2)``.
    Used in 11 §8.

    >>> round(rdp_sampled_gaussian(2.0, 1.0, 8), 6)
    1.0
    """
    from math import lgamma, log
    sigma, q, a = float(noise_multiplier), float(sample_rate), check_int(order, "order", low=2, high=10_000)
    if sigma <= 0:
        return float("inf")
    if q >= 1.0:
        return a / (2 * sigma ** 2)
    log_a = -np.inf
    for k in range(a + 1):
        log_coef = lgamma(a + 1) - lgamma(k + 1) - lgamma(a - k + 1)
        term = log_coef + k * log(q) + (a - k) * log(1 - q) + (k * k - k) / (2 * sigma ** 2)
        log_a = _log_add(log_a, term)
    return float(log_a / (a - 1))


def epsilon_by_hand(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                    orders: Sequence[int] = DEFAULT_ORDERS) -> float:
    """(epsilon, delta)-DP of ``steps`` DP-SGD steps from the RDP curve, converted as dp-accounting does.

    ``eps = min_a [steps * rdp(a) + log((a-1)/a) - (log(delta) + log(a)) / (a-1)]`` (Balle et al. 2020,
    the conversion of ``dp_accounting.rdp``). Checked against :func:`dp_epsilon` in the tests. Used in 11 §8.
    """
    _check_accounting(noise_multiplier, sample_rate, steps, delta)
    if noise_multiplier == 0:
        return float("inf")
    a = np.asarray(list(orders), dtype=float)
    if a.size == 0 or a.min() < 2 or a.max() > 10_000 or not np.all(a == np.round(a)):
        raise ValueError("orders must be integers in 2..10000")
    rdp = steps * _rdp_orders(float(noise_multiplier), float(sample_rate), a)
    eps = rdp + np.log1p(-1.0 / a) - (np.log(delta) + np.log(a)) / (a - 1)
    return max(float(np.min(eps)), 0.0)


def _rdp_orders(sigma: float, q: float, orders: np.ndarray) -> np.ndarray:
    """:func:`rdp_sampled_gaussian` for many integer orders at once (one log-sum-exp over a k grid)."""
    from scipy.special import logsumexp
    if q >= 1.0:
        return orders / (2 * sigma ** 2)
    base, kk = _rdp_base(q, tuple(int(v) for v in orders))
    return logsumexp(base + kk / (2 * sigma ** 2), axis=1) / (orders - 1)


@functools.lru_cache(maxsize=16)
def _rdp_base(q: float, orders: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The sigma-free part of the log terms: log C(a, k) + k log q + (a - k) log(1 - q) (-inf for k > a)."""
    from scipy.special import gammaln
    a = np.asarray(orders, dtype=float)[:, None]
    k = np.arange(max(orders) + 1, dtype=float)[None, :]
    valid = k <= a
    ak = np.where(valid, a - k, 0.0)
    base = gammaln(a + 1) - gammaln(k + 1) - gammaln(ak + 1) + k * np.log(q) + ak * np.log1p(-q)
    return np.where(valid, base, -np.inf), np.broadcast_to(k * k - k, base.shape)


def _check_accounting(noise_multiplier, sample_rate, steps, delta) -> None:
    from ._validate import check_float
    check_float(noise_multiplier, "noise_multiplier", low=0.0)
    check_float(sample_rate, "sample_rate", low=0.0, high=1.0, low_open=True)
    check_int(steps, "steps", low=1, high=10_000_000)
    check_float(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)


def dp_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float = 1e-5,
               orders: Sequence[int] = DEFAULT_ORDERS) -> float:
    """Epsilon of DP-SGD from the RDP accountant of ``dp-accounting`` (Poisson sampling at ``sample_rate``).

    ``inf`` without noise. Used in 11 §8.

    >>> round(dp_epsilon(1.1, 256 / 60000, 60000 // 256 * 60, 1e-5), 2)   # the classic MNIST setting
    2.59
    """
    _check_accounting(noise_multiplier, sample_rate, steps, delta)
    if noise_multiplier == 0:
        return float("inf")
    from dp_accounting import dp_event, rdp
    acc = rdp.RdpAccountant(list(orders))
    event = dp_event.PoissonSampledDpEvent(sample_rate, dp_event.GaussianDpEvent(noise_multiplier))
    acc.compose(dp_event.SelfComposedDpEvent(event, int(steps)))
    return float(acc.get_epsilon(delta))


def dp_sgd_train(x: np.ndarray, y: Any, *, clip_norm: float | None = 1.0, noise_multiplier: float = 1.0,
                 epochs: int = 3, batch_size: int = 64, learning_rate: float = 0.1, seed: int = 0,
                 delta: float = 1e-5, test: tuple[np.ndarray, Any] | None = None,
                 on_epoch: Any = None) -> TrainResult:
    """DP-SGD (Abadi et al. 2016) of the article's CNN in a custom train step.

    Per step: the gradient of each example's loss, each clipped to L2 norm ``clip_norm`` (over all
    weights), summed, plus Gaussian noise of standard deviation ``noise_multiplier * clip_norm``, divided by
    the batch size, then an SGD step. ``clip_norm=float('inf')`` with ``noise_multiplier=0`` is plain SGD
    computed example by example (equal to :func:`train_sgd` up to rounding); ``clip_norm=None`` runs
    :func:`train_sgd` itself. Epsilon for ``delta`` from :func:`dp_epsilon` with sample rate
    ``batch_size / N`` and ``epochs * ceil(N / batch_size)`` steps. Caveat: batches here are a seeded
    shuffle (fixed size), the accountant assumes Poisson sampling; this is the usual approximation.
    Used in 11 §8.
    """
    import math
    import time
    from ._validate import check_float
    epochs, batch_size, learning_rate, seed = _check_train(epochs, batch_size, learning_rate, seed)
    noise = check_float(noise_multiplier, "noise_multiplier", low=0.0, high=100.0)
    delta = check_float(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    if clip_norm is None:
        if noise > 0:
            raise ValueError("noise_multiplier > 0 needs a finite clip_norm (the noise is scaled by it)")
        run = train_sgd(x, y, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                        test=test)
        run.epsilon, run.delta = float("inf"), delta
        return run
    if isinstance(clip_norm, bool) or not isinstance(clip_norm, (int, float, np.floating, np.integer)):
        raise TypeError(f"clip_norm must be a positive number (or None), got {type(clip_norm).__name__}")
    clip = float(clip_norm)
    if not clip > 0 or math.isnan(clip):
        raise ValueError(f"clip_norm must be > 0, got {clip_norm}")
    if math.isinf(clip) and noise > 0:
        raise ValueError("clip_norm=inf with noise_multiplier > 0 would add infinite noise; use a finite clip")
    xs = _images(x, "x")
    ys = _labels(y, len(xs), "y")
    xt, yt = (_images(test[0], "test images"), _labels(test[1], len(test[0]), "test labels")) if test else (None, None)
    t0 = time.perf_counter()
    tr = _trainer(xs.shape[1:], seed)
    tr.reset(learning_rate, clip=min(clip, 3.0e38), std=noise * clip if noise > 0 else 0.0)
    model, step = tr.model, tr.dp
    counter = [0]
    history = []
    for e in range(epochs):
        with _quiet_tf():     # tracing the per-example map warns that conv gradients use a loop (expected)
            _epochs(step, xs, ys, epochs=1, batch_size=batch_size, seed=seed, stream=0, start=e, counter=counter)
        if xt is not None:
            history.append(_auc(model, xt, yt))
        if on_epoch is not None:
            on_epoch(e + 1, history[-1] if history else None)
    q = min(1.0, batch_size / len(xs))
    eps = dp_epsilon(noise, q, counter[0], delta) if noise > 0 else float("inf")
    return TrainResult([np.array(v) for v in model.get_weights()], history, time.perf_counter() - t0,
                       {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed,
                        "clip_norm": clip, "noise_multiplier": noise, "steps": counter[0], "sample_rate": q},
                       epsilon=eps, delta=delta, input_shape=tuple(xs.shape[1:]))


def face_rendering(image: Any, threshold: float = -400.0) -> np.ndarray:
    """A shaded surface rendering of a head CT seen from the front (the first voxel above ``threshold`` HU
    along the y axis, lit from the upper left): the face a de-identified header does not hide. Used in 11 §1.

    ``image``: a 3-D SimpleITK image in HU (z, y, x order of its array). Returns uint8 (z, x).

    >>> import SimpleITK as sitk
    >>> vol = np.full((4, 6, 5), -1000.0); vol[:, 3:, :] = 40
    >>> face_rendering(sitk.GetImageFromArray(vol)).shape
    (4, 5)
    """
    import SimpleITK as sitk
    from ._validate import check_float
    if not isinstance(image, sitk.Image) or image.GetDimension() != 3:
        raise TypeError("image must be a 3-D SimpleITK image (a head CT in HU)")
    threshold = check_float(threshold, "threshold")
    a = sitk.GetArrayViewFromImage(image)
    sx, sy, sz = image.GetSpacing()
    hit = a > threshold
    found = hit.any(axis=1)
    if not found.any():
        raise ValueError(f"threshold: no voxel above {threshold} HU; use a lower threshold (skin is about -400)")
    depth = np.argmax(hit, axis=1).astype(float) * sy
    depth[~found] = depth[found].max()
    gz, gx = np.gradient(depth, sz, sx) if min(depth.shape) > 1 else (np.zeros_like(depth),) * 2
    normal = np.stack([-gx, -gz, np.ones_like(depth)])
    normal /= np.linalg.norm(normal, axis=0)
    light = np.array([0.4, 0.5, 0.77]) / np.linalg.norm([0.4, 0.5, 0.77])
    shade = np.clip(np.tensordot(light, normal, 1), 0, 1) * 255
    shade[~found] = 0
    return shade.astype(np.uint8)


# --------------------------------------------------------------------------------------------
# the small settings of notebook 11 and its widgets
# --------------------------------------------------------------------------------------------
#: Three simulated hospitals for FedAvg (sizes, pneumonia fraction at heterogeneity 1) and the SGD settings.
FED_DEFAULTS: dict[str, Any] = {"sizes": (240, 120, 60), "positive": (0.9, 0.5, 0.1), "batch_size": 64,
                                "learning_rate": 0.5, "seed": 0}
#: The DP-SGD settings of the notebook's precomputed grid (small: it trains in seconds).
DP_DEFAULTS: dict[str, Any] = {"n_train": 512, "epochs": 2, "batch_size": 64, "learning_rate": 0.5, "delta": 1e-5,
                               "seed": 0}
#: Synthetic visit schedules for the date-shift explorer (the embedded CTs have one study each).
EXAMPLE_VISITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "PAT-A (4 visits)": ("PAT-A", ("20180312", "20180620", "20190115", "20210903")),
    "PAT-B (3 visits)": ("PAT-B", ("20200101", "20200108", "20200401")),
    "Lung_Dx-A0002 (embedded CT)": ("Lung_Dx-A0002", ("20070425",)),
}


def pneumonia_data(n_test: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PneumoniaMNIST for 11 §7-§8: the train split shuffled with ``seed`` (it is stored ordered by class) and
    ``n_test`` test images drawn with ``seed``: ``(x_train, y_train, x_test, y_test)``."""
    from ._validate import check_seed
    from .datasets import load_pneumoniamnist
    n_test = check_int(n_test, "n_test", low=2, high=624)
    seed = check_seed(seed)
    x, y = load_pneumoniamnist("train")
    order = np.random.default_rng(seed).permutation(len(x))
    xt, yt = load_pneumoniamnist("test")
    torder = np.random.default_rng(seed).permutation(len(xt))[:n_test]
    return x[order], y[order], xt[torder], yt[torder]


def dp_grid(clips: Sequence[float], noises: Sequence[float], config: dict | None = None) -> list[dict]:
    """DP-SGD for every (clip, noise) pair on :func:`pneumonia_data` with :data:`DP_DEFAULTS` (or ``config``):
    ``[{"clip", "noise", "epsilon", "auc", "seconds"}]``. Used in 11 §8 and by the DP explorer."""
    cfg = {**DP_DEFAULTS, **(config or {})}
    if len(clips) * len(noises) > 64 or not clips or not noises:
        raise ValueError("clips and noises must be non-empty with at most 64 pairs (each pair is a training run)")
    x, y, xt, yt = pneumonia_data()
    n = check_int(cfg["n_train"], "n_train", low=2, high=MAX_EXAMPLES)
    out = []
    for c in clips:
        for s in noises:
            r = dp_sgd_train(x[:n], y[:n], clip_norm=float(c), noise_multiplier=float(s), epochs=cfg["epochs"],
                             batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"], seed=cfg["seed"],
                             delta=cfg["delta"], test=(xt, yt))
            out.append({"clip": float(c), "noise": float(s), "epsilon": r.epsilon, "auc": r.history[-1],
                        "seconds": r.seconds})
    return out
