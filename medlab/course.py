"""The learning path of the MedLab series: one entry per numbered notebook.

>>> LEARNING_PATH[0].notebook
'00_welcome.ipynb'
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Unit", "LEARNING_PATH", "NOTEBOOK_DIR", "learning_path_markdown"]

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Unit:
    number: int
    title: str
    notebook: str
    topics: str

    @property
    def available(self) -> bool:
        return (NOTEBOOK_DIR / self.notebook).exists()


LEARNING_PATH: tuple[Unit, ...] = (
    Unit(0, "Welcome & environment check", "00_welcome.ipynb",
         "set-up check, how widgets work, a tour of the embedded data"),
    Unit(1, "Medical images as data", "01_medical_images.ipynb",
         "pixels vs voxels, DICOM tags, Hounsfield units, window/level, resampling"),
    Unit(2, "Convolution", "02_convolution.ipynb",
         "the convolution formula, padding/stride/dilation, output size, channels, im2col"),
    Unit(3, "Pooling and the whole network", "03_pooling_and_network.ipynb",
         "max/average pooling, receptive field, dense layer, the seed CNN by hand"),
    Unit(4, "Preprocessing", "04_preprocessing.ipynb",
         "histogram equalisation, denoising, thresholding, region growing, lung segmentation"),
    Unit(5, "Hand-crafted features & an SVM baseline", "05_features_svm.ipynb",
         "first-order statistics, GLCM texture, wavelets, shape, support vector machines"),
    Unit(6, "Training a CNN", "06_training_cnn.ipynb",
         "loss, gradient descent, backpropagation, the article's CNN trained, a live training dashboard"),
    Unit(7, "Evaluating a diagnostic model", "07_evaluation.ipynb",
         "sensitivity, specificity, ROC/AUC with intervals, calibration, thresholds, CNN vs SVM paired"),
    Unit(8, "Explainability", "08_explainability.ipynb",
         "saliency, Grad-CAM, occlusion, integrated gradients, sanity checks, shortcut learning"),
    Unit(9, "Lung-CT case study", "09_lung_ct_case_study.ipynb",
         "two patients from DICOM to a findings card: patches, patient split, heat map, FROC"),
    Unit(10, "Multimodal fusion", "10_multimodal_fusion.ipynb",
         "early, late and joint fusion of a CNN embedding with radiomics features; a leaky field caught"),
    Unit(11, "Patient privacy", "11_privacy.ipynb",
         "DICOM de-identification (PS3.15 Annex E), federated learning, differential privacy"),
)


def learning_path_markdown() -> str:
    """The learning path as a Markdown table, marking which notebooks are available yet."""
    rows = ["| # | unit | notebook | what you learn | status |", "|---|---|---|---|---|"]
    for u in LEARNING_PATH:
        status = "available" if u.available else "planned"
        rows.append(f"| {u.number:02d} | {u.title} | `{u.notebook}` | {u.topics} | {status} |")
    return "\n".join(rows)
