"""Bad input across the public API, one section per class of the issue-14 probe.

Classes: data loss · silently wrong pixels · silently wrong numbers · memory and time bombs · unclear errors.
Each test states the bad input and the error it must give; each failed before its fix. Part A covers io,
preprocess, display, datasets and _validate; part B appends its modules (ops, features, classical...) to the
same sections.
"""
from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import _validate, datasets


# =============================================================================================
# 1. data loss: nothing may ever write into the data folder or over an existing data file
# =============================================================================================
@pytest.mark.parametrize("target", ["pneumoniamnist.npz", "pneumoniamnist", "results/x.json",
                                    "lung_ct_dicom/1-01.dcm", "."])
def test_output_path_inside_data_folder_refused(target):
    with pytest.raises(ValueError, match="inside the data folder"):
        _validate.check_output_path(datasets.data_dir() / target)


def test_output_dir_inside_data_folder_refused():
    with pytest.raises(ValueError, match="inside the data folder"):
        _validate.check_output_dir(datasets.data_dir() / "runs")
    with pytest.raises(ValueError, match="inside the data folder"):
        datasets.check_output_path(datasets.DATA_DIR / "breastmnist.npz")


def test_output_path_refuses_any_folder_with_checksums(tmp_path):
    copy = tmp_path / "my_data"
    copy.mkdir()
    (copy / "SHA256SUMS").write_text("")
    with pytest.raises(ValueError, match="inside the data folder"):
        _validate.check_output_path(copy / "sub" / "out.json")


def test_output_path_refuses_copy_of_a_data_file(tmp_path):
    dst = tmp_path / "pneu.npz"
    shutil.copy(datasets.verify("breastmnist.npz"), dst)
    with pytest.raises(ValueError, match="copy of an embedded data file"):
        _validate.check_output_path(dst)
    assert dst.stat().st_size > 100_000  # untouched


def test_output_path_refuses_dicom_and_existing_when_no_overwrite(tmp_path):
    dcm = tmp_path / "x.dcm"
    shutil.copy(datasets.verify("lung_ct_dicom/1-01.dcm"), dcm)
    with open(dcm, "ab") as f:  # no longer a byte copy of the data file: still a DICOM file
        f.write(b"\0")
    with pytest.raises(ValueError, match="existing DICOM file"):
        _validate.check_output_path(dcm)
    res = tmp_path / "r.json"
    res.write_text("{}")
    assert _validate.check_output_path(res) == res.resolve()        # own results may be replaced
    with pytest.raises(ValueError, match="overwrite=False"):
        _validate.check_output_path(res, overwrite=False)
    with pytest.raises(ValueError, match="existing folder"):
        _validate.check_output_path(tmp_path)


@pytest.mark.parametrize("bad, exc", [(None, TypeError), (3, TypeError), ("", ValueError), (True, TypeError)])
def test_output_path_bad_types(bad, exc):
    with pytest.raises(exc, match="path"):
        _validate.check_output_path(bad)
