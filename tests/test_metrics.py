"""cae_lib.metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from cae_lib import metrics


def test_psnr_hand_computed_float():
    a = np.zeros((28, 28), np.float32)
    b = np.full((28, 28), 0.1, np.float32)  # MSE 0.01 -> 10*log10(1/0.01) = 20 dB
    np.testing.assert_allclose(metrics.psnr(a, b, data_range=1.0), [20.0], atol=1e-4)


def test_psnr_hand_computed_uint8():
    a = np.zeros((2, 28, 28), np.uint8)
    b = np.full((2, 28, 28), 16, np.uint8)  # MSE 256 -> 10*log10(255**2/256)
    expected = 10 * math.log10(255**2 / 256)
    np.testing.assert_allclose(metrics.psnr(a, b, data_range=255), [expected] * 2, atol=1e-4)
    # Either order: subtracting the uint8 arrays would wrap 0 - 16 round to 240 (MSE 57,600, 0.53 dB).
    np.testing.assert_allclose(metrics.psnr(b, a, data_range=255), [expected] * 2, atol=1e-4)
    assert metrics.mean_psnr(b, a, data_range=255) == pytest.approx(expected, abs=1e-4)


def test_psnr_per_image_and_mean():
    rng = np.random.default_rng(0)
    a = rng.random((5, 28, 28, 1)).astype(np.float32)
    noise = (
        rng.normal(0, 1, a.shape).astype(np.float32)
        * np.array([0.01, 0.02, 0.05, 0.1, 0.2])[:, None, None, None]
    )
    b = a + noise.astype(np.float32)
    by_hand = 10 * np.log10(1.0 / ((a - b) ** 2).mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(metrics.psnr(a, b, data_range=1.0), by_hand, rtol=1e-4)
    assert metrics.mean_psnr(a, b, data_range=1.0) == pytest.approx(by_hand.mean(), rel=1e-4)


def test_identical_images():
    a = np.random.default_rng(1).random((3, 28, 28)).astype(np.float32)
    assert np.isinf(metrics.psnr(a, a, data_range=1.0)).all()
    assert metrics.mean_psnr(a, a, data_range=1.0) == math.inf
    np.testing.assert_allclose(metrics.ssim(a, a, data_range=1.0), 1.0, atol=1e-6)


def test_mean_psnr_skips_exact_reconstructions():
    a = np.zeros((2, 28, 28), np.float32)
    b = a.copy()
    b[1] = 0.1
    assert metrics.mean_psnr(a, b, data_range=1.0) == pytest.approx(20.0, abs=1e-4)


def test_ssim_constant_images_is_the_luminance_term():
    # For flat images only SSIM's luminance term remains:
    # (2*mx*my + C1) / (mx**2 + my**2 + C1), C1 = (0.01 * L)**2.
    a = np.full((1, 28, 28), 0.2, np.float32)
    b = np.full((1, 28, 28), 0.4, np.float32)
    c1 = 0.01**2
    expected = (2 * 0.2 * 0.4 + c1) / (0.2**2 + 0.4**2 + c1)
    np.testing.assert_allclose(metrics.ssim(a, b, data_range=1.0), [expected], rtol=1e-4)
    assert metrics.mean_ssim(a, b, data_range=1.0) == pytest.approx(0.80010, abs=1e-4)


def test_data_range_matters():
    a = np.zeros((28, 28), np.uint8)
    b = np.full((28, 28), 16, np.uint8)
    wrong = metrics.psnr(a, b, data_range=1.0)[0]
    right = metrics.psnr(a, b, data_range=255)[0]
    assert right - wrong == pytest.approx(20 * math.log10(255), abs=1e-3)


def test_errors():
    a = np.zeros((2, 28, 28))
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(a, np.zeros((3, 28, 28)), data_range=1.0)
    with pytest.raises(ValueError, match=r"Received: data_range=0"):
        metrics.psnr(a, a, data_range=0)
    with pytest.raises(ValueError, match=r"Received: shape=\(28,\)"):
        metrics.psnr(np.zeros(28), np.zeros(28), data_range=1.0)
    with pytest.raises(TypeError, match="dtype="):
        metrics.psnr(np.array([["a"]]), np.array([["b"]]), data_range=1.0)
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(np.zeros((8, 8)), np.zeros((8, 8)), data_range=1.0)
    with pytest.raises(TypeError):
        metrics.psnr(a, a, 1.0)  # data_range is keyword-only


def test_one_image_with_a_channel_axis_is_one_image():
    a = np.zeros((28, 28, 1), np.float32)
    b = np.full((28, 28, 1), 0.1, np.float32)  # one image with a channel axis, not 28 images of 28x1
    np.testing.assert_allclose(metrics.psnr(a, b, data_range=1.0), [20.0], atol=1e-4)
    assert metrics.ssim(a, b, data_range=1.0).shape == (1,)
    batch = np.zeros((3, 28, 28), np.float32)  # last axis not 1 or 3: a batch without channel axis
    assert metrics.psnr(batch, batch + 0.1, data_range=1.0).shape == (3,)


def test_large_batches_are_computed_in_chunks_with_the_same_values():
    rng = np.random.default_rng(3)
    n = metrics.CHUNK + 7  # two chunks, the second short
    a = rng.random((n, 28, 28)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    by_hand = 10 * np.log10(1.0 / ((a - b) ** 2).mean(axis=(1, 2)))
    np.testing.assert_allclose(metrics.psnr(a, b, data_range=1.0), by_hand, rtol=1e-4)
    whole = metrics.ssim(a[:10], b[:10], data_range=1.0)
    np.testing.assert_allclose(metrics.ssim(a, b, data_range=1.0)[:10], whole, rtol=1e-6)
    np.testing.assert_allclose(
        metrics.ssim(a, b, data_range=1.0)[-7:], metrics.ssim(a[-7:], b[-7:], data_range=1.0), rtol=1e-6
    )
