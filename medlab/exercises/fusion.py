"""Exercise checks for 10_multimodal_fusion (each computes its answer; none needs training).

The checks that take a Keras model (:func:`check_embedding_length`, :func:`check_fuse_width`) only read its
layers; :func:`check_significant_gains` runs DeLong's test (07) on the scores the notebook computed.

>>> bool(check_late_fusion(None))
False
>>> bool(check_late_fusion(0.3 * 0.9 + 0.7 * 0.4))
True
"""
from __future__ import annotations

from typing import Any, Sequence

from . import Feedback, as_number

__all__ = ["LATE_EXAMPLE", "check_late_fusion", "check_n_models", "check_leak_name", "check_embedding_length",
           "check_fuse_width", "check_significant_gains", "check_patch_overlap", "check_leak_auc"]

#: One image's probabilities from two models and the fusion weight of the first.
LATE_EXAMPLE = {"p_cnn": 0.9, "p_svm": 0.4, "weight": 0.3}


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def check_late_fusion(answer: Any) -> Feedback:
    """Ex. 1: the late-fusion probability of :data:`LATE_EXAMPLE`."""
    if answer is None:
        return Feedback.unanswered("Compute w · p_cnn + (1 − w) · p_svm for LATE_EXAMPLE.")
    a = _number(answer, "answer")
    e = LATE_EXAMPLE
    right = e["weight"] * e["p_cnn"] + (1 - e["weight"]) * e["p_svm"]
    if abs(a - right) < 1e-6:
        return Feedback(True, f"{right:.2f}: a weighted average stays a probability in [0, 1].")
    if abs(a - ((1 - e["weight"]) * e["p_cnn"] + e["weight"] * e["p_svm"])) < 1e-6:
        return Feedback(False, "the weights are swapped.", hint="w multiplies the CNN's probability.")
    return Feedback(False, f"{a:g} is not it.", hint="w · p_cnn + (1 − w) · p_svm.")


def check_n_models(answer: Any, k: int) -> Feedback:
    """Ex. 3: how many logistic regressions does the early-fusion explorer fit for ``k`` groups?"""
    if answer is None:
        return Feedback.unanswered(f"How many non-empty subsets do {k} feature groups have?")
    a = _number(answer, "answer")
    right = 2 ** k - 1
    if a == right:
        return Feedback(True, f"2^{k} − 1 = {right}: each group is in or out, minus the empty choice.")
    if a == 2 ** k:
        return Feedback(False, "the empty subset is not a model.", hint="Subtract one.")
    return Feedback(False, f"{a:g} is not it.", hint="Each group is either in or out.")


def check_leak_name(answer: Any, screen: Sequence[dict]) -> Feedback:
    """Ex. 4: which column is the leak? ``screen`` is :func:`medlab.fusion.screen_features`' output."""
    if answer is None:
        return Feedback.unanswered("Name the feature the screen flags.")
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a feature name (str), got {answer!r}")
    flagged = [r["feature"] for r in screen if r["alarm"]]
    if answer in flagged:
        return Feedback(True, f"{answer!r}: alone it separates the classes almost perfectly — recorded because "
                              "of the diagnosis, it cannot help make one.")
    return Feedback(False, f"{answer!r} is not flagged.", hint="Look for alarm=True in the screen's table.")


def _keras_model(model: Any, what: str) -> Any:
    keras = __import__("keras")
    if not isinstance(model, keras.Model):
        raise TypeError(f"{what} must be a keras.Model, got {type(model).__name__}")
    return model


def check_embedding_length(answer: Any, model: Any, image_size: int = 64) -> Feedback:
    """Ex. 1 (10 §1): how many numbers is the embedding of one ``image_size`` x ``image_size`` image, for the
    architecture of ``model`` (the global average of its last convolution block's maps)?"""
    from ..fusion import embedding_layer
    from .._validate import check_int

    model = _keras_model(model, "model")
    size = check_int(image_size, "image_size", 4, 4096)
    if answer is None:
        return Feedback.unanswered(f"How long is the embedding of one {size}×{size} image?")
    a = as_number(answer, "answer")
    maps = embedding_layer(model).output.shape          # (batch, h, w, channels) at the model's input size
    c, h, w = int(maps[-1]), int(maps[1]), int(maps[2])
    h0, w0 = int(model.input_shape[1]), int(model.input_shape[2])
    if a == c:
        return Feedback(True, f"{c}: one average per feature map, whatever the image size — which is why the "
                              "same kind of network can embed 28×28 X-rays and 32×32 CT patches alike.")
    if a == size * size:
        return Feedback(False, f"{a:g} is the number of pixels.", hint="The embedding summarises the last "
                        "convolution block's feature maps, not the pixels.")
    if a == h * w * c:
        return Feedback(False, f"{a:g} is every position of every map at the model's own {h0}×{w0} input.",
                        hint="Flattening keeps h × w × channels numbers; the global average keeps one per map.")
    if abs(a - c * size * size / (h0 * w0)) < 1:
        return Feedback(False, "you scaled the length with the image area.",
                        hint="The global average removes h and w: what is left does not depend on the image size.")
    if a > c and a % c == 0:
        return Feedback(False, f"{a:g} = {a / c:g} × {c}: that counts positions of the maps too.",
                        hint="Flattening keeps h × w × channels numbers; the global average keeps one per map.")
    return Feedback(False, f"{a:g} is not it.", hint="Look at the shape of emb['train'], and ask which of its axes "
                    "would change with a bigger image.")


def check_fuse_width(answer: Any, model: Any) -> Feedback:
    """Ex. 4 (10 §4): how many numbers per image does the ``fuse`` (concatenation) layer of
    :func:`medlab.fusion.joint_model` pass to the head?"""
    model = _keras_model(model, "model")
    try:
        fuse, gap, dense = (model.get_layer(n) for n in ("fuse", "img_gap", "feat_dense"))
    except ValueError:
        raise TypeError("model must be built by medlab.fusion.joint_model (layers 'fuse', 'img_gap', "
                        "'feat_dense')") from None
    if answer is None:
        return Feedback.unanswered("Count the numbers the layer 'fuse' joins: image branch + feature branch.")
    a = as_number(answer, "answer")
    right, n_img, n_dense = int(fuse.output.shape[-1]), int(gap.output.shape[-1]), int(dense.units)
    n_features = int(model.get_layer("features").output.shape[-1])
    if a == right:
        return Feedback(True, f"{n_img} + {n_dense} = {right}: the image branch's global average and the feature "
                              "branch's Dense layer, side by side — the head learns how to combine them.")
    if a == n_img + n_features:
        return Feedback(False, f"{n_img} + {n_features}: the hand-crafted features do not enter 'fuse' directly.",
                        hint=f"The feature branch first maps the {n_features} features through Dense({n_dense}).")
    if a in (n_img, n_dense):
        return Feedback(False, "that is one branch only.", hint="'fuse' concatenates both branches.")
    if a == 64 + n_dense:
        return Feedback(False, "64 is the §1 CNN's embedding; the joint model has its own image branch.",
                        hint="Its image branch ends with Conv 32 → global average.")
    return Feedback(False, f"{a:g} is not it.", hint="Image branch: Conv 16 → pool → Conv 32 → global average; "
                    "feature branch: Dense 16. How many numbers does each give per image?")


def check_significant_gains(answer: Any, y_true: Any, fusion_scores: dict[str, Any], reference: Any,
                            alpha: float = 0.05) -> Feedback:
    """Ex. 5 (10 §5): how many of ``fusion_scores`` (name -> test scores) have a test AUC significantly
    *higher* than ``reference`` (the better single model's test scores): DeLong ΔAUC > 0 with p < ``alpha``?"""
    from .. import evaluation as E
    from .._validate import check_float

    if not isinstance(fusion_scores, dict) or not fusion_scores:
        raise TypeError("fusion_scores must be a non-empty dict: model name -> test scores")
    alpha = check_float(alpha, "alpha", 0, 1, low_open=True, high_open=True)
    tests = {k: E.delong_test(y_true, s, reference) for k, s in fusion_scores.items()}
    right = sum(d["delta"] > 0 and d["p"] < alpha for d in tests.values())
    if answer is None:
        return Feedback.unanswered(f"Count the fusion models with ΔAUC > 0 and p < {alpha:g}.")
    a = as_number(answer, "answer")
    if a == right:
        names = [k for k, d in tests.items() if d["delta"] > 0 and d["p"] < alpha]
        return Feedback(True, f"{right}" + (f" ({', '.join(names)})" if names else "") + ": a fusion gain is a "
                        "claim only when the paired test supports it; the others are within noise.")
    higher = sum(d["delta"] > 0 for d in tests.values())
    significant = sum(d["p"] < alpha for d in tests.values())
    if a == higher and higher != right:
        return Feedback(False, f"{higher} have a higher AUC, but not all of them significantly.",
                        hint=f"Count only those with p < {alpha:g}: a positive ΔAUC with a large p is noise.")
    if a == significant and significant != right:
        return Feedback(False, "a significant difference can also be a loss.",
                        hint="Count only the models with ΔAUC > 0 *and* p < alpha.")
    if a == len(tests):
        return Feedback(False, "not every fusion model beats the single model significantly.",
                        hint=f"Read the p-value column: which are below {alpha:g} with ΔAUC > 0?")
    return Feedback(False, f"{a:g} is not it.", hint=f"In the table, count the rows with ΔAUC > 0 and p < {alpha:g}.")


def check_patch_overlap(answer: Any, size_mm: float, stride_mm: float) -> Feedback:
    """Ex. 7 (10 §7): the fraction of a patch's pixels that its neighbour on the grid (``stride_mm`` to the
    side) also contains, for square patches of ``size_mm``."""
    from .._validate import check_float

    size = check_float(size_mm, "size_mm", 0, 1000, low_open=True)
    stride = check_float(stride_mm, "stride_mm", 0, 1000, low_open=True)
    right = max(0.0, 1.0 - stride / size)
    if answer is None:
        return Feedback.unanswered(f"Patches of {size:g} mm, {stride:g} mm apart: what fraction of a patch does "
                                   "its neighbour share?")
    a = as_number(answer, "answer")
    if abs(a - right) < 0.005:
        return Feedback(True, f"{right:.2f}: neighbouring patches are mostly the same pixels, so the test patches "
                              "are far from independent — DeLong's p-value, which counts them as independent, "
                              "is too optimistic; the honest sample size is closer to one patient.")
    if abs(a - right * 100) < 0.5 and right > 0:
        return Feedback(False, "that looks like a percentage.", hint="Give a fraction between 0 and 1.")
    if abs(a - stride / size) < 0.005:
        return Feedback(False, "that is the part that is *not* shared.", hint="The shift uncovers a strip "
                        "stride wide; the rest of the patch is shared.")
    if abs(a - right ** 2) < 0.005:
        return Feedback(False, "that is a diagonal neighbour (shifted in both directions).",
                        hint="The neighbour to the side is shifted along one axis only.")
    return Feedback(False, f"{a:g} is not it.", hint="Shift a square of side size by stride to the side: "
                    "what fraction of its area stays covered?")


def check_leak_auc(answer: Any, agreement: float) -> Feedback:
    """Ex. 6 (10 §6): the AUC alone of :func:`medlab.fusion.leaky_clinical_feature` with this ``agreement``
    (equal to the label for a fraction ``agreement`` of the images, a fair coin otherwise, tiny noise)."""
    from .._validate import check_float

    agr = check_float(agreement, "agreement", 0, 1)
    # a positive beats a negative when its flag is 1 and the other's 0; equal flags are split by the noise:
    # P(flag = 1 | y = 1) = (1 + a) / 2, P(flag = 1 | y = 0) = (1 - a) / 2  =>  AUC = (1 + a) / 2
    right = (1 + agr) / 2
    if answer is None:
        return Feedback.unanswered(f"What AUC does a field that agrees with the label for {agr:.0%} of the "
                                   "images (a coin flip for the rest) reach alone?")
    a = as_number(answer, "answer")
    if abs(a - right) < 0.005:
        if abs(right - 0.95) < 0.01:
            verdict = "right at the screen's 0.95 alarm: on a finite sample it lands just above or just below it."
        elif right > 0.95:
            verdict = "above the 0.95 alarm: the screen flags it."
        else:
            verdict = ("below the 0.95 alarm — the screen would miss it, and it would still inflate the fused "
                       "AUC. A screen is a first check, not proof; ask when and why each field was recorded.")
        return Feedback(True, f"(1 + {agr:g}) / 2 = {right:.3f}: " + verdict)
    if abs(a - agr) < 0.005:
        return Feedback(False, "the AUC is not the agreement.", hint="For the other images the field is a coin "
                        "flip — and half of those flips agree with the label too.")
    if abs(a - right * 100) < 0.5:
        return Feedback(False, "that looks like a percentage.", hint="Give the AUC between 0 and 1.")
    return Feedback(False, f"{a:g} is not it.", hint="Take one pneumonia and one normal image: the AUC is the chance "
                    "that the field ranks the pneumonia higher (ties count half). What is P(field = 1) in each class?")
