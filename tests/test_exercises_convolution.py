"""Exercise checks of 02 (medlab.exercises.convolution): right → True, typical wrong answers → False with a
specific hint, None → unanswered."""
from __future__ import annotations

import numpy as np
import pytest

from medlab import ops
from medlab.exercises import convolution as ex


@pytest.mark.parametrize("check", [ex.check_output_size, ex.check_dense_params, ex.check_horizontal_edge_kernel])
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_output_size():
    assert ex.check_output_size(128)
    assert ex.check_output_size(128.0)
    for wrong, hint in [(127, "both"), (126, "left out the padding"), (127.5, "floor"), (127, "+ 1"),
                        (256, "divide by s")]:
        fb = ex.check_output_size(wrong)
        assert not fb and hint in fb.hint, (wrong, fb)
    fb = ex.check_output_size(3)
    assert not fb and "floor((n + 2p" in fb.hint
    with pytest.raises(TypeError, match="whole number"):
        ex.check_output_size("many")


def test_dense_params():
    assert ex.check_dense_params(256 * 256 * 32 + 32)
    assert "bias" in ex.check_dense_params(256 * 256 * 32).hint
    assert "multiply" in ex.check_dense_params(256 * 256 + 32).hint
    assert not ex.check_dense_params(7)


def test_horizontal_edge_kernel():
    assert ex.check_horizontal_edge_kernel(ops.KERNELS["sobel_y"])
    assert ex.check_horizontal_edge_kernel([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    fb = ex.check_horizontal_edge_kernel(ops.KERNELS["sobel_x"])
    assert not fb and "90°" in fb.hint
    fb = ex.check_horizontal_edge_kernel(ops.KERNELS["box"])
    assert not fb and "sum to 0" in fb.hint
    fb = ex.check_horizontal_edge_kernel(ops.KERNELS["laplacian"])
    assert not fb and "vertical" in fb.message
    fb = ex.check_horizontal_edge_kernel(np.zeros((3, 3)))
    assert not fb and "top row" in fb.hint
    fb = ex.check_horizontal_edge_kernel(np.ones((2, 2)))
    assert not fb and "3x3" in fb.hint
