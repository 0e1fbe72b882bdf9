"""medlab.privacy: PS3.15 Annex E de-identification, audit, FedAvg and DP-SGD."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from medlab import _annex_e
from medlab import privacy as P

ROOT = Path(__file__).resolve().parents[1]
CT = ROOT / "datasets" / "lung_ct_dicom"
KEY = "test-secret"
COMBINED = {"X/Z": "Z", "Z/D": "Z", "X/Z/D": "Z", "X/D": "D", "X/Z/U*": "U*"}
COL = {c: i for i, c in enumerate(_annex_e.COLUMNS)}
# set by deidentify itself, so not judged by their table action (none of them is in Table E.1-1 in 2024b)
SET_BY_PROFILE = {"PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence",
                  "LongitudinalTemporalInformationModified"}


# --------------------------------------------------------------------------------------------
# synthetic files
# --------------------------------------------------------------------------------------------
def _value(vr: str, tag: int):
    return {
        "AE": "STATION_AE", "AS": "045Y", "CS": "VALUE1", "DA": "20010203", "DS": "1.5",
        "DT": "20010203101112", "IS": "7", "LO": "Lo Doe-12345", "LT": "free text Doe", "ST": "short text Doe",
        "UT": "unlimited text Doe", "UC": "uc Doe", "PN": "Doe^John", "SH": "SH Doe", "TM": "101112",
        "UI": f"1.2.826.0.1.3680043.10.999.{tag}", "UR": "http://hospital.example/x", "US": 1, "SS": 1,
        "UL": 1, "SL": 1, "UV": 1, "SV": 1, "FL": 1.5, "FD": 1.5, "AT": 0x00100010,
    }.get(vr, b"\x01\x02\x03\x04")


def _nested_item() -> Dataset:
    item = Dataset()
    item.PatientName = "Nested^Person"
    item.ReferencedSOPClassUID = CTImageStorage
    item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.999.77"
    item.StudyDate = "20010203"
    inner = Dataset()
    inner.PersonName = "Deep^Nested"
    inner.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.999.78"
    inner.add_new(0x00090010, "LO", "ACME 1.0")
    inner.add_new(0x00091001, "LO", "private in a sequence")
    item.ContentSequence = Sequence([inner])
    return item


def _meta(sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _image(ds: Dataset, rows: int = 16, cols: int = 16, seed: int = 0) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = \
        rows, cols, 16, 12, 11, 0
    ds.PixelData = np.random.default_rng(seed).integers(0, 4000, (rows, cols), dtype=np.uint16).tobytes()


def full_dataset() -> Dataset:
    """Every non-pattern attribute of Table E.1-1 (groups 0000/0002 aside) plus private tags, overlays, curves."""
    ds = Dataset()
    for row in _annex_e.TABLE:
        tag = P._tag_int(row[0])
        if tag is None or tag >> 16 in (0x0000, 0x0002):
            continue
        vr = dictionary_VR(tag).split(" or ")[0]
        if vr == "SQ":
            ds.add_new(tag, "SQ", Sequence([_nested_item()]))
        else:
            ds.add_new(tag, vr, _value(vr, tag))
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.999.1"
    ds.PatientID = "MRN-0042"
    ds.BurnedInAnnotation = "NO"
    ds.Modality = "CT"
    # private blocks: one unknown, one safe-listed
    ds.add_new(0x00090010, "LO", "ACME 1.0")
    ds.add_new(0x00091001, "LO", "Doe^John secret")
    ds.add_new(0x00110010, "LO", "SAFE CORP")
    ds.add_new(0x00111003, "DS", "2.5")
    ds.add_new(0x00111004, "LO", "not on the safe list")
    # overlay and curve groups
    ds.add_new(0x60000010, "US", 16)
    ds.add_new(0x60000011, "US", 16)
    ds.add_new(0x60003000, "OW", b"\x00" * 32)
    ds.add_new(0x60004000, "LT", "overlay comment Doe")
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50003000, "OW", b"\x00\x01")
    _image(ds)
    ds.file_meta = _meta(ds.SOPInstanceUID)
    return ds


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def series(folder: Path, n: int = 3, patient: str = "PAT-1", study_date: str = "20200115",
           study_uid: str = "1.2.826.0.1.3680043.10.999.500") -> list[Path]:
    """``n`` slices of one series, each referencing the previous slice."""
    paths = []
    sops = [f"{study_uid}.{i + 1}" for i in range(n)]
    for i in range(n):
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sops[i]
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, study_uid + ".9"
        ds.FrameOfReferenceUID = study_uid + ".8"
        ds.PatientName, ds.PatientID, ds.Modality = "Doe^Jane", patient, "CT"
        ds.StudyDate, ds.SeriesDate = study_date, study_date
        ds.AcquisitionDate = (dt.date(int(study_date[:4]), int(study_date[4:6]), int(study_date[6:]))
                              + dt.timedelta(days=i)).strftime("%Y%m%d")
        ds.AcquisitionDateTime = ds.AcquisitionDate + "101500.25"
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [0.0, 0.0, float(i)]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceThickness = 1.0
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = CTImageStorage, sops[i - 1]
        ds.ReferencedImageSequence = Sequence([ref])
        _image(ds, seed=i)
        ds.file_meta = _meta(sops[i])
        paths.append(write(ds, folder / f"slice{i:02d}.dcm"))
    return paths


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def expected(row, options) -> str:
    acts = [row[COL[o]] for o in options if row[COL[o]]]
    if acts:
        return "C" if "C" in acts else "K"
    return COMBINED.get(row[COL["basic"]], row[COL["basic"]])


def is_empty(value) -> bool:
    return value is None or value == "" or value == b"" or (hasattr(value, "__len__") and len(value) == 0)


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------
def test_table_is_the_2024b_edition_with_its_codes():
    assert _annex_e.EDITION == "2024b" and P.PROFILE_SIZE == len(_annex_e.TABLE) == 621
    codes = {r[COL["basic"]] for r in _annex_e.TABLE}
    assert codes == {"D", "Z", "X", "U", "X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*"}
    tags = [r[0] for r in _annex_e.TABLE]
    assert len(set(tags)) == len(tags)
    for row in _annex_e.TABLE:
        assert len(row) == len(_annex_e.COLUMNS)
        assert all(row[i] in ("", "K", "C") for i in range(4, len(row)))
        tag = P._tag_int(row[0])
        if tag is not None:   # keyword is pydicom's for that tag
            assert pydicom.datadict.keyword_for_tag(tag) == row[1]
    # spot checks against the standard's table
    by_kw = {r[1]: r for r in _annex_e.TABLE}
    assert by_kw["PatientName"][COL["basic"]] == "Z"
    assert by_kw["PatientID"][COL["basic"]] == "Z/D"
    assert by_kw["StudyInstanceUID"][COL["basic"]] == "U" and by_kw["StudyInstanceUID"][COL["uids"]] == "K"
    assert by_kw["PatientAge"][COL["patient_characteristics"]] == "K"
    assert by_kw["StudyDate"][COL["modified_dates"]] == "C"
    assert by_kw["DeviceSerialNumber"][COL["device_identity"]] == "K"
    assert by_kw["StudyDescription"][COL["clean_descriptors"]] == "C"


def test_options_accept_names_and_codes_and_refuse_unknown():
    assert P.profile_action("StudyDate", ["113107"]) == ("Z", "C")
    with pytest.raises(ValueError, match="unknown option"):
        P.profile_action("StudyDate", ["retain_everything"])
    with pytest.raises(ValueError, match="does not implement"):
        P.profile_action("StudyDate", ["clean_graphics"])
    with pytest.raises(ValueError, match="exclude each other"):
        P.profile_action("StudyDate", ["full_dates", "modified_dates"])


# --------------------------------------------------------------------------------------------
# every attribute gets its action
# --------------------------------------------------------------------------------------------
OPTION_SETS = [(), ("modified_dates", "patient_characteristics", "device_identity", "institution_identity"),
               ("uids", "full_dates", "clean_descriptors")]


@pytest.mark.parametrize("options", OPTION_SETS)
def test_every_table_attribute_gets_its_action(tmp_path, options):
    ds = full_dataset()
    src = write(ds, tmp_path / "in" / "full.dcm")
    rep = P.deidentify(src, tmp_path / "out", key=KEY, options=options)
    out = pydicom.dcmread(tmp_path / "out" / "full.dcm")
    shift = P.date_shift_days(KEY, "MRN-0042")
    checked = 0
    for row in _annex_e.TABLE:
        tag = P._tag_int(row[0])
        if tag is None or tag not in ds or row[1] in SET_BY_PROFILE:
            continue
        act = expected(row, options)
        before, vr = ds[tag].value, ds[tag].VR
        after = out.get(tag)
        where = f"{row[1]} {row[0]} code {row[COL['basic']]} -> {act}"
        checked += 1
        if act == "C" and vr in ("OB", "OW", "UN") and row[1] != "TimezoneOffsetFromUTC":
            act = COMBINED.get(row[COL["basic"]], row[COL["basic"]])   # binary: cannot be cleaned in place
        if act == "X":
            assert after is None, where
            continue
        assert after is not None, where
        if act == "Z":
            assert is_empty(after.value), where
        elif act == "K" and vr == "SQ":   # kept, with the profile applied to its items
            assert len(after.value) == 1 and str(after.value[0].PatientName) == "", where
        elif act == "K":
            assert after.value == before, where
        elif act == "U":
            assert after.value == P.keyed_uid(before, KEY), where
        elif act == "U*":
            assert after.value[0].ReferencedSOPInstanceUID == P.keyed_uid("1.2.826.0.1.3680043.10.999.77", KEY)
        elif act == "D":
            assert not is_empty(after.value), where
            if vr == "SQ":   # dummy content: the profile applied inside
                assert str(after.value[0].PatientName) == "", where
            else:
                assert after.value != before, where
        elif act == "C":
            if vr in ("DA", "DT"):
                assert after.value == P.shift_date(before, shift, vr) != before, where
            elif vr in ("TM",) or row[1] == "TimezoneOffsetFromUTC":
                assert after.value == before, where
            elif vr == "SQ":
                assert str(after.value[0].PatientName) == "", where
            else:
                assert vr in ("LO", "SH", "LT", "ST", "UT", "UC", "AE", "CS", "UR"), where
                assert "Doe" not in str(after.value) and not is_empty(after.value), where
        else:
            raise AssertionError(where)
    assert checked > 550
    # the report has one record per handled attribute, with masked before values
    recorded = {c.keyword for c in rep.changes if c.path == c.keyword}
    assert "PatientName" in recorded and "StudyInstanceUID" in recorded
    name = next(c for c in rep.changes if c.keyword == "PersonName" and c.path == "PersonName")
    assert "Doe" not in name.before and name.before.startswith("D")


def test_sequences_private_overlays_curves(tmp_path):
    ds = full_dataset()
    src = write(ds, tmp_path / "in" / "full.dcm")
    rep = P.deidentify(src, tmp_path / "out", key=KEY)
    out = pydicom.dcmread(tmp_path / "out" / "full.dcm")
    assert not any(e.tag.is_private for e in out.iterall())
    assert not any(0x5000 <= e.tag.group <= 0x60FF for e in out.iterall())
    # nested: Referenced Image Sequence (X/Z/U*) kept, its UIDs replaced, nested names emptied / removed
    item = out.ReferencedImageSequence[0]
    assert item.ReferencedSOPInstanceUID == P.keyed_uid("1.2.826.0.1.3680043.10.999.77", KEY)
    assert item.ReferencedSOPClassUID == CTImageStorage
    assert str(item.PatientName) == "" and item.StudyDate == ""
    deep = item.ContentSequence[0]
    assert str(deep.PersonName) == "ANONYMOUS"          # Person Name: D
    assert deep.ReferencedSOPInstanceUID == P.keyed_uid("1.2.826.0.1.3680043.10.999.78", KEY)
    assert not any(e.tag.is_private for e in deep)
    assert out.PatientIdentityRemoved == "YES" and "PS3.15" in str(out.DeidentificationMethod)
    assert [i.CodeValue for i in out.DeidentificationMethodCodeSequence] == ["113100"]
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID == P.keyed_uid(ds.SOPInstanceUID, KEY)
    assert rep.summary["private_removed"] >= 7


def test_safe_private_list_is_kept_only_with_the_option(tmp_path):
    src = write(full_dataset(), tmp_path / "in" / "full.dcm")
    safe = [(0x0011, "SAFE CORP", 0x03)]
    P.deidentify(src, tmp_path / "a", key=KEY, options=["safe_private"], safe_private=safe)
    P.deidentify(src, tmp_path / "b", key=KEY, safe_private=safe)
    a = pydicom.dcmread(tmp_path / "a" / "full.dcm")
    b = pydicom.dcmread(tmp_path / "b" / "full.dcm")
    assert a[0x00111003].value == "2.5" and a[0x00110010].value == "SAFE CORP"
    assert 0x00111004 not in a and 0x00091001 not in a and 0x00090010 not in a
    assert not any(e.tag.is_private for e in b)
    codes = [i.CodeValue for i in a.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113111"]


def test_method_codes_record_the_options(tmp_path):
    src = write(full_dataset(), tmp_path / "in" / "full.dcm")
    opts = ["modified_dates", "patient_characteristics", "device_identity", "uids", "clean_descriptors"]
    rep = P.deidentify(src, tmp_path / "out", key=KEY, options=opts)
    out = pydicom.dcmread(tmp_path / "out" / "full.dcm")
    codes = [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113107", "113108", "113109", "113110", "113105"]
    assert all(i.CodingSchemeDesignator == "DCM" for i in out.DeidentificationMethodCodeSequence)
    assert [c for c, _ in rep.option_codes] == codes
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"
    assert out.PatientAge == "045Y" and out.PatientSex == "VALUE1"     # patient characteristics kept
    assert out.SOPInstanceUID == "1.2.826.0.1.3680043.10.999.1"          # UIDs kept


# --------------------------------------------------------------------------------------------
# UIDs, dates
# --------------------------------------------------------------------------------------------
def test_uids_consistent_across_series_and_references(tmp_path):
    src_paths = series(tmp_path / "in", n=4)
    P.deidentify(tmp_path / "in", tmp_path / "out", key=KEY)
    P.deidentify(tmp_path / "in", tmp_path / "again", key=KEY)
    P.deidentify(tmp_path / "in", tmp_path / "other", key="another key")
    outs = [pydicom.dcmread(tmp_path / "out" / p.name) for p in src_paths]
    assert len({o.StudyInstanceUID for o in outs}) == len({o.SeriesInstanceUID for o in outs}) == 1
    assert len({o.FrameOfReferenceUID for o in outs}) == 1
    sops = [o.SOPInstanceUID for o in outs]
    assert len(set(sops)) == 4 and all(s.startswith("2.25.") and len(s) <= 64 for s in sops)
    for i, o in enumerate(outs):   # each slice still references the previous slice's new UID
        assert o.ReferencedImageSequence[0].ReferencedSOPInstanceUID == sops[i - 1]
    again = [pydicom.dcmread(tmp_path / "again" / p.name).SOPInstanceUID for p in src_paths]
    other = [pydicom.dcmread(tmp_path / "other" / p.name).SOPInstanceUID for p in src_paths]
    assert again == sops and not set(other) & set(sops)


def test_date_shift_preserves_intervals_per_patient(tmp_path):
    series(tmp_path / "in" / "p1_a", n=3, patient="PAT-1", study_date="20200115",
           study_uid="1.2.826.0.1.3680043.10.999.600")
    series(tmp_path / "in" / "p1_b", n=2, patient="PAT-1", study_date="20210301",
           study_uid="1.2.826.0.1.3680043.10.999.601")
    series(tmp_path / "in" / "p2", n=2, patient="PAT-2", study_date="20200115",
           study_uid="1.2.826.0.1.3680043.10.999.602")
    P.deidentify(tmp_path / "in", tmp_path / "out", key=KEY, options=["modified_dates"])

    def dates(folder):
        out = {}
        for p in sorted((tmp_path / folder).rglob("*.dcm")):
            ds = pydicom.dcmread(p)
            out[str(p.relative_to(tmp_path / folder))] = (
                dt.datetime.strptime(ds.StudyDate, "%Y%m%d"), dt.datetime.strptime(ds.AcquisitionDate, "%Y%m%d"),
                ds.AcquisitionDateTime[8:])
        return out
    before, after = dates("in"), dates("out")
    shifts = {}
    for name in before:
        (s0, a0, t0), (s1, a1, t1) = before[name], after[name]
        assert (a1 - s1) == (a0 - s0) and t1 == t0           # intervals and times preserved
        shifts.setdefault(name.split("/")[0], set()).add((s1 - s0).days)
    assert all(len(v) == 1 for v in shifts.values())
    assert shifts["p1_a"] == shifts["p1_b"] == {P.date_shift_days(KEY, "PAT-1")}
    assert shifts["p2"] == {P.date_shift_days(KEY, "PAT-2")} != shifts["p1_a"]
    # interval between PAT-1's two studies preserved
    s_a = after["p1_a/slice00.dcm"][0]
    s_b = after["p1_b/slice00.dcm"][0]
    assert (s_b - s_a) == (dt.datetime(2021, 3, 1) - dt.datetime(2020, 1, 15))
    assert pydicom.dcmread(tmp_path / "out" / "p2" / "slice00.dcm").LongitudinalTemporalInformationModified \
        == "MODIFIED"


def test_shift_date_partial_and_bad_values():
    assert P.shift_date("2007", 400) == "2008"
    assert P.shift_date("200702", 30) == "200703"
    with pytest.raises(ValueError, match="not a DA"):
        P.shift_date("April", 1)


# --------------------------------------------------------------------------------------------
# the real CT series
# --------------------------------------------------------------------------------------------
def test_real_ct_unchanged_and_reads_as_the_same_volume(tmp_path):
    import SimpleITK as sitk
    from medlab import io
    before = hashes(CT)
    rep = P.deidentify(CT, tmp_path / "out", key=KEY, report=False)
    assert hashes(CT) == before
    assert len(rep.files) == 30 and [f for f, _ in rep.skipped] == ["LICENSE_TCIA_Lung-PET-CT-Dx.txt"]
    assert rep.changes == [] and rep.summary["files_written"] == 30
    a, b = io.read_image(CT), io.read_image(tmp_path / "out")
    assert a.GetSize() == b.GetSize() and a.GetSpacing() == b.GetSpacing()
    assert a.GetOrigin() == b.GetOrigin() and a.GetDirection() == b.GetDirection()
    assert np.array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b))
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == sorted(n for n in os.listdir(CT) if n.endswith(".dcm"))
    ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(tmp_path / "out"))
    assert len(ids) == 1


def test_naive_random_uids_break_the_series(tmp_path):
    import SimpleITK as sitk
    series(tmp_path / "in", n=4)
    P.random_uids(tmp_path / "in", tmp_path / "rand", seed=0)
    P.deidentify(tmp_path / "in", tmp_path / "keyed", key=KEY)
    assert len(sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(tmp_path / "rand"))) == 4
    assert len(sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(tmp_path / "keyed"))) == 1


# --------------------------------------------------------------------------------------------
# audit
# --------------------------------------------------------------------------------------------
def clean_dataset() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, "1.2.826.0.1.3680043.10.999.900"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.999.901", "1.2.826.0.1.3680043.10.999.902"
    ds.Modality, ds.PatientIdentityRemoved, ds.BurnedInAnnotation = "CT", "YES", "NO"
    ds.PatientName, ds.PatientID, ds.StudyDate = "", "", ""
    ds.SliceThickness, ds.KVP, ds.ImageType = "1.0", "120", ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Manufacturer, ds.ManufacturerModelName, ds.ConvolutionKernel = "ACME", "Scanner 9", "B40f"
    _image(ds)
    ds.file_meta = _meta(ds.SOPInstanceUID)
    return ds


def test_audit_finds_each_planted_identifier_and_nothing_in_a_clean_file(tmp_path):
    clean = write(clean_dataset(), tmp_path / "clean.dcm")
    assert P.audit(clean) == []
    ds = clean_dataset()
    planted = {"PatientName": "name", "PatientBirthDate": "date", "OtherPatientIDs": "id",
               "AccessionNumber": "id", "ImageComments": "free text", "InstitutionAddress": "free text",
               "PatientAge": "age", "BurnedInAnnotation": "burned-in", "AcquisitionDateTime": "date",
               "StudyDescription": "free text"}
    ds.PatientName, ds.PatientBirthDate, ds.OtherPatientIDs = "Roe^Richard", "19700101", "H-998877"
    ds.AccessionNumber, ds.ImageComments = "ACC123", "seen by Dr Roe"
    ds.InstitutionAddress, ds.PatientAge = "1 Main St", "053Y"
    ds.BurnedInAnnotation, ds.AcquisitionDateTime = "YES", "20200101120000"
    ds.StudyDescription = "Chest for Roe"
    item = Dataset()
    item.PersonName = "Nested^Roe"
    ds.ContentSequence = Sequence([item])
    ds.add_new(0x00290010, "LO", "ACME")
    ds.add_new(0x00291001, "LO", "x")
    ds.add_new(0x60004000, "LT", "overlay note")
    write(ds, tmp_path / "dirty" / "d.dcm")
    found = P.audit(tmp_path / "dirty")
    kinds = {f.keyword: f.kind for f in found}
    for kw, kind in planted.items():
        assert kinds.get(kw) == kind, kw
    assert any(f.path == "ContentSequence[0].PersonName" and f.kind == "name" for f in found)
    assert sum(f.kind == "private" for f in found) == 2
    assert any(f.kind == "overlay/curve" for f in found)
    assert all("Roe" not in f.value for f in found)       # values are masked
    assert len(found) == len(planted) + 4


def test_audit_of_basic_profile_output_is_empty(tmp_path):
    src = write(full_dataset(), tmp_path / "in" / "full.dcm")
    assert len(P.audit(src)) > 100
    P.deidentify(src, tmp_path / "out", key=KEY)
    assert P.audit(tmp_path / "out") == []
    # with modified dates, the shifted dates are still dates: the audit lists them for review
    P.deidentify(src, tmp_path / "md", key=KEY, options=["modified_dates"])
    assert {f.kind for f in P.audit(tmp_path / "md")} == {"date"}


# --------------------------------------------------------------------------------------------
# burned-in text
# --------------------------------------------------------------------------------------------
def test_burned_in_refused_without_boxes_and_cleaned_with_them(tmp_path):
    series(tmp_path / "in", n=1)
    box = P.add_burned_in_text(tmp_path / "in" / "slice00.dcm", tmp_path / "burn" / "slice00.dcm",
                               text="DOE^JANE", position=(1, 1), scale=1)
    marked = pydicom.dcmread(tmp_path / "burn" / "slice00.dcm")
    assert marked.BurnedInAnnotation == "YES"
    with pytest.raises(ValueError, match="Burned In Annotation"):
        P.deidentify(tmp_path / "burn", tmp_path / "out", key=KEY)
    assert not (tmp_path / "out").exists()
    rep = P.deidentify(tmp_path / "burn", tmp_path / "out", key=KEY, clean_boxes=[box])
    out = pydicom.dcmread(tmp_path / "out" / "slice00.dcm")
    r0, c0, r1, c1 = box
    orig = pydicom.dcmread(tmp_path / "in" / "slice00.dcm").pixel_array
    assert (out.pixel_array[r0:r1, c0:c1] == marked.pixel_array.min()).all()
    keep = np.ones(orig.shape, bool)
    keep[r0:r1, c0:c1] = False
    assert np.array_equal(out.pixel_array[keep], marked.pixel_array[keep])
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert ("113101", "Clean Pixel Data Option") in rep.option_codes
    with pytest.raises(ValueError, match="outside"):
        P.deidentify(tmp_path / "burn", tmp_path / "out2", key=KEY, clean_boxes=[(0, 0, 99, 99)])


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_non_dicom_file_is_skipped_and_reported(tmp_path):
    series(tmp_path / "in", n=2)
    (tmp_path / "in" / "notes.txt").write_text("Patient Jane Doe")
    rep = P.deidentify(tmp_path / "in", tmp_path / "out", key=KEY)
    assert rep.files == ["slice00.dcm", "slice01.dcm"]
    assert rep.skipped and rep.skipped[0][0] == "notes.txt" and "not a DICOM" in rep.skipped[0][1]
    assert sorted(os.listdir(tmp_path / "out")) == ["slice00.dcm", "slice01.dcm"]
    with pytest.raises(ValueError, match="not a DICOM"):
        P.deidentify(tmp_path / "in" / "notes.txt", tmp_path / "o2", key=KEY)


@pytest.mark.parametrize("cut", [0.5, 0.98])
def test_truncated_dicom_writes_nothing(tmp_path, cut):
    paths = series(tmp_path / "in", n=3)
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: int(len(data) * cut)])
    before = hashes(tmp_path / "in")
    with pytest.raises(ValueError, match="slice01.dcm"):
        P.deidentify(tmp_path / "in", tmp_path / "out", key=KEY)
    assert not (tmp_path / "out").exists()
    assert sorted(os.listdir(tmp_path)) == ["in"]            # no temporary folder left
    assert hashes(tmp_path / "in") == before


def test_bad_arguments(tmp_path):
    series(tmp_path / "in", n=1)
    with pytest.raises(ValueError, match="inside src"):
        P.deidentify(tmp_path / "in", tmp_path / "in" / "out", key=KEY)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="not an empty folder"):
        P.deidentify(tmp_path / "in", tmp_path / "full", key=KEY)
    with pytest.raises(ValueError, match="unknown option"):
        P.deidentify(tmp_path / "in", tmp_path / "o", key=KEY, options=["keep_names"])
    with pytest.raises(ValueError, match="key must not be empty"):
        P.deidentify(tmp_path / "in", tmp_path / "o", key="")
    with pytest.raises(TypeError, match="key must be"):
        P.deidentify(tmp_path / "in", tmp_path / "o", key=None)
    with pytest.raises(FileNotFoundError):
        P.deidentify(tmp_path / "missing", tmp_path / "o", key=KEY)
    with pytest.raises(TypeError, match="clean_boxes"):
        P.deidentify(tmp_path / "in", tmp_path / "o", key=KEY, clean_boxes=[("a", 1, 2, 3)])
    assert not (tmp_path / "o").exists()
    (tmp_path / "empty").mkdir()
    rep = P.deidentify(tmp_path / "in", tmp_path / "empty", key=KEY)      # an existing empty folder is fine
    assert rep.files == ["slice00.dcm"]
    (tmp_path / "nodcm").mkdir()
    (tmp_path / "nodcm" / "a.txt").write_text("a")
    with pytest.raises(ValueError, match="no DICOM file"):
        P.deidentify(tmp_path / "nodcm", tmp_path / "o3", key=KEY)


# --------------------------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------------------------
def test_naive_remover_misses_what_the_profile_removes(tmp_path):
    src = write(full_dataset(), tmp_path / "in" / "full.dcm")
    P.naive_deidentify(tmp_path / "in", tmp_path / "naive")
    P.deidentify(tmp_path / "in", tmp_path / "full", key=KEY)
    diff = P.compare_outputs(src, tmp_path / "naive" / "full.dcm", tmp_path / "full" / "full.dcm",
                             ("naive", "profile"))
    by_kw = {r["keyword"]: r for r in diff}
    assert by_kw["StudyInstanceUID"]["naive"] == "kept" and by_kw["StudyInstanceUID"]["profile"] == "replaced"
    assert by_kw["ImageComments"]["naive"] == "kept" and by_kw["ImageComments"]["profile"] == "removed"
    assert "PatientName" not in by_kw          # both empty it
    assert len(P.audit(tmp_path / "naive")) > len(P.audit(tmp_path / "full")) == 0


def test_dicognito_comparison_runs(tmp_path):
    series(tmp_path / "in", n=2)
    P.run_dicognito(tmp_path / "in", tmp_path / "dcg", seed="s")
    P.deidentify(tmp_path / "in", tmp_path / "ours", key=KEY)
    diff = P.compare_outputs(tmp_path / "in" / "slice00.dcm", tmp_path / "ours" / "slice00.dcm",
                             tmp_path / "dcg" / "slice00.dcm", ("medlab", "dicognito"))
    by_kw = {r["keyword"]: r for r in diff}
    assert by_kw["PatientName"] == {**by_kw["PatientName"], "medlab": "emptied", "dicognito": "replaced"}


def test_uniqueness():
    recs = [{"a": i % 3, "b": i % 2} for i in range(12)]
    assert P.uniqueness(recs, ["a", "b"]) == {"unique_fraction": 0.0, "min_k": 2, "median_k": 2.0}
    with pytest.raises(ValueError, match="not in the records"):
        P.uniqueness(recs, ["c"])


# --------------------------------------------------------------------------------------------
# FedAvg and DP-SGD (small subsets: a few seconds of CPU each)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist():
    from medlab.datasets import load_pneumoniamnist
    x, y = load_pneumoniamnist("train")
    order = np.random.default_rng(0).permutation(len(x))      # the train split is ordered by class
    xt, yt = load_pneumoniamnist("test")
    return x[order[:160]], y[order[:160]], xt[:200], yt[:200]


def _same(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def test_fedavg_one_client_is_plain_training(mnist):
    x, y, xt, yt = mnist
    plain = P.train_sgd(x, y, epochs=4, batch_size=32, learning_rate=0.3, seed=3, test=(xt, yt))
    fed = P.fedavg([(x, y)], rounds=2, local_epochs=2, batch_size=32, learning_rate=0.3, seed=3, test=(xt, yt))
    assert _same(plain.weights, fed.weights)
    assert fed.history == plain.history[1::2]
    other = P.train_sgd(x, y, epochs=4, batch_size=32, learning_rate=0.3, seed=4)
    assert not _same(plain.weights, other.weights)


def test_fedavg_averages_client_weights(mnist):
    x, y, xt, yt = mnist
    clients = [(x[:100], y[:100]), (x[100:], y[100:])]
    fed = P.fedavg(clients, rounds=1, local_epochs=1, batch_size=32, learning_rate=0.3, seed=1, weighting="size")
    # one round by hand: each client from the same start, then the size-weighted mean
    a = P.fedavg([clients[0]], rounds=1, local_epochs=1, batch_size=32, learning_rate=0.3, seed=1)
    b_run = P.train_sgd(clients[1][0], clients[1][1], epochs=1, batch_size=32, learning_rate=0.3, seed=1,
                        stream=1)
    expect = [0.625 * u + 0.375 * v for u, v in zip(a.weights, b_run.weights)]
    assert all(np.allclose(u, v, atol=1e-6) for u, v in zip(fed.weights, expect))
    assert fed.config["client_weights"] == [0.625, 0.375]
    eq = P.fedavg(clients, rounds=1, batch_size=32, learning_rate=0.3, seed=1, weighting="equal")
    assert all(np.allclose(u, 0.5 * (p + q), atol=1e-6) for u, p, q in zip(eq.weights, a.weights, b_run.weights))


def test_dp_sgd_zero_noise_infinite_clip_is_plain_sgd(mnist):
    x, y, xt, yt = mnist
    # lr 0.1: float32 rounding of a per-example sum vs a batch mean stays ~1e-8 over 10 steps (at lr 0.3
    # training is unstable enough to amplify it to 1e-2, measured)
    plain = P.train_sgd(x, y, epochs=2, batch_size=32, learning_rate=0.1, seed=2)
    dp = P.dp_sgd_train(x, y, clip_norm=float("inf"), noise_multiplier=0.0, epochs=2, batch_size=32,
                        learning_rate=0.1, seed=2)
    assert all(np.allclose(u, v, atol=1e-5) for u, v in zip(plain.weights, dp.weights))
    assert dp.epsilon == float("inf")
    # clipping alone changes the result, noise changes it again, and the same seed repeats it
    clipped = P.dp_sgd_train(x, y, clip_norm=0.01, noise_multiplier=0.0, epochs=2, batch_size=32,
                             learning_rate=0.1, seed=2)
    assert not all(np.allclose(u, v, atol=1e-5) for u, v in zip(plain.weights, clipped.weights))
    n1 = P.dp_sgd_train(x, y, clip_norm=1.0, noise_multiplier=1.0, epochs=1, batch_size=32, seed=2)
    n2 = P.dp_sgd_train(x, y, clip_norm=1.0, noise_multiplier=1.0, epochs=1, batch_size=32, seed=2)
    assert _same(n1.weights, n2.weights)


def test_dp_clipping_bounds_each_example(mnist):
    """With clip C and no noise, one step moves the weights by at most lr * C (mean of clipped gradients)."""
    x, y, _, _ = mnist
    start = P.train_sgd(x[:1], y[:1], epochs=1, batch_size=1, learning_rate=1e-9, seed=5).weights
    run = P.dp_sgd_train(x[:32], y[:32], clip_norm=0.05, noise_multiplier=0.0, epochs=1, batch_size=32,
                         learning_rate=1.0, seed=5)
    move = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(run.weights, start)))
    assert 0 < move <= 0.05 * 1.0001


def test_epsilon_matches_the_accountant():
    from dp_accounting import dp_event, rdp
    for sigma, q, steps, delta in [(1.1, 256 / 60000, 14040, 1e-5), (0.8, 0.1, 50, 1e-5), (2.0, 0.02, 500, 1e-6),
                                   (1.0, 1.0, 10, 1e-5)]:
        acc = rdp.RdpAccountant(list(P.DEFAULT_ORDERS))
        acc.compose(dp_event.SelfComposedDpEvent(
            dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps))
        ref = acc.get_epsilon(delta)
        assert P.dp_epsilon(sigma, q, steps, delta) == pytest.approx(ref, rel=1e-9)
        assert P.epsilon_by_hand(sigma, q, steps, delta) == pytest.approx(ref, rel=1e-6)
    assert P.dp_epsilon(0.0, 0.1, 10) == float("inf")
    # more noise -> smaller epsilon; more steps -> larger
    assert P.dp_epsilon(2.0, 0.05, 100) < P.dp_epsilon(1.0, 0.05, 100) < P.dp_epsilon(1.0, 0.05, 400)


def test_dp_sgd_reports_the_accountant_epsilon(mnist):
    x, y, _, _ = mnist
    run = P.dp_sgd_train(x, y, clip_norm=1.0, noise_multiplier=1.3, epochs=2, batch_size=40, seed=0)
    assert run.config["steps"] == 8 and run.config["sample_rate"] == 0.25
    assert run.epsilon == pytest.approx(P.dp_epsilon(1.3, 0.25, 8, 1e-5), rel=1e-12)


def test_hospital_splits_are_disjoint_non_iid():
    from medlab.datasets import load_pneumoniamnist
    x, y = load_pneumoniamnist("train")
    idx = np.arange(len(x))
    parts = P.hospital_splits(idx, y, sizes=(600, 300, 150), positive=(0.9, 0.5, 0.1), heterogeneity=1.0, seed=0)
    got = [set(p[0].tolist()) for p in parts]
    assert [len(g) for g in got] == [600, 300, 150] and not (got[0] & got[1] or got[1] & got[2] or got[0] & got[2])
    assert [round(float(np.mean(p[1])), 2) for p in parts] == [0.9, 0.5, 0.1]
    iid = P.hospital_splits(idx, y, sizes=(600, 300), positive=(0.9, 0.1), heterogeneity=0.0, seed=0)
    assert abs(np.mean(iid[0][1]) - np.mean(iid[1][1])) < 0.01
    with pytest.raises(ValueError, match="not enough"):
        P.hospital_splits(idx, y, sizes=(3000,), positive=(0.0,))


def test_training_bad_arguments(mnist):
    x, y, _, _ = mnist
    with pytest.raises(ValueError, match="rounds"):
        P.fedavg([(x, y)], rounds=0)
    with pytest.raises(ValueError, match="rounds \\* local_epochs"):
        P.fedavg([(x, y)], rounds=100, local_epochs=10)
    with pytest.raises(TypeError, match="clients"):
        P.fedavg([])
    with pytest.raises(ValueError, match="weighting"):
        P.fedavg([(x, y)], weighting="median")
    with pytest.raises(ValueError, match="labels"):
        P.train_sgd(x, y[:-1])
    with pytest.raises(ValueError, match="infinite noise"):
        P.dp_sgd_train(x, y, clip_norm=float("inf"), noise_multiplier=1.0)
    with pytest.raises(ValueError, match="clip_norm must be > 0"):
        P.dp_sgd_train(x, y, clip_norm=0.0)
    with pytest.raises(ValueError, match="delta"):
        P.dp_epsilon(1.0, 0.1, 10, delta=0.0)
    with pytest.raises(ValueError, match="NaN"):
        P.train_sgd(np.full((4, 28, 28), np.nan), [0, 1, 0, 1])


# --------------------------------------------------------------------------------------------
# exercises of notebook 11
# --------------------------------------------------------------------------------------------
def test_exercise_checks():
    from medlab.exercises import privacy as E
    assert not E.check_profile_action("PatientBirthDate", None)
    assert E.check_profile_action("PatientBirthDate", "z")
    assert not E.check_profile_action("PatientBirthDate", "X")
    assert E.check_profile_action("StudyDate", "C", options=["modified_dates"])
    fb = E.check_profile_action("StudyDate", "Z", options=["modified_dates"])
    assert not fb and "Basic Profile code" in fb.message
    assert "not an action code" in E.check_profile_action("PatientName", "remove").message
    with pytest.raises(TypeError):
        E.check_profile_action("PatientName", 3)
    gap = (dt.date(2019, 6, 11) - dt.date(2019, 3, 4)).days
    assert E.check_shifted_interval(gap)
    shift = P.date_shift_days("classroom-key", "PAT-EX")
    assert "shift itself" in E.check_shifted_interval(shift).message
    assert E.check_fedavg_weights([600, 300, 100], [0.6, 0.3, 0.1])
    assert "equal weights" in E.check_fedavg_weights([600, 300, 100], [1 / 3] * 3).message
    with pytest.raises(TypeError):
        E.check_fedavg_weights([600, 300, 100], [0.5, 0.5])
    assert E.check_epsilon_order([2.0, 1.0, 0.5])
    assert "reversed" in E.check_epsilon_order([0.5, 1.0, 2.0]).message
    with pytest.raises(TypeError):
        E.check_epsilon_order([1.0, 2.0])
    recs = [{"a": 1, "b": 1}, {"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 3, "b": 2}]
    assert E.check_unique_fraction(recs, ["a", "b"], 0.5)
    assert "percentage" in E.check_unique_fraction(recs, ["a", "b"], 50).message


def test_dp_noise_has_the_stated_scale(mnist):
    """One DP step with a large noise multiplier: weight change per coordinate ~ N(0, (lr * sigma * C / B)^2);
    the clipped gradients add at most lr * C / B in total norm, negligible against 20k noisy coordinates."""
    x, y, _, _ = mnist
    start = P.train_sgd(x[:1], y[:1], epochs=1, batch_size=1, learning_rate=1e-9, seed=7).weights
    run = P.dp_sgd_train(x[:8], y[:8], clip_norm=1.0, noise_multiplier=10.0, epochs=1, batch_size=8,
                         learning_rate=1.0, seed=7)
    delta = np.concatenate([(a - b).ravel() for a, b in zip(run.weights, start)])
    assert delta.size == 20417
    assert np.std(delta) == pytest.approx(10.0 * 1.0 / 8, rel=0.03)
    assert abs(np.mean(delta)) < 0.05
