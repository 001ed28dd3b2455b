"""cae_lib.rd: rate-distortion points are real file sizes and real qualities."""

import math

import matplotlib
import numpy as np
import pytest
from conftest import fake_digits

from cae_lib import codec, metrics, models, rd

matplotlib.use("Agg")


_digits = fake_digits


@pytest.fixture(scope="module")
def model():
    ae = models.build_autoencoder(4, filters=4, hidden_units=16, seed=1)
    return codec.attach_prior(ae, _digits(100, seed=2)[..., None] / np.float32(255))


def test_png_round_trip_is_lossless_and_sizes_are_file_lengths():
    images = _digits(3)
    decoded, sizes = rd.pillow_round_trip(images, "PNG")
    np.testing.assert_array_equal(decoded, images)
    assert sizes.dtype == np.int64 and (sizes > 50).all()
    point = rd.png_point(images)
    assert point.bytes_per_image == pytest.approx(
        rd.pillow_round_trip(images, "PNG", optimize=True)[1].mean()
    )
    assert math.isinf(point.mean_psnr_db) and point.mean_ssim == 1.0
    with pytest.raises(ValueError, match="Received: dtype=float64"):
        rd.pillow_round_trip(images.astype(float), "PNG")


def test_jpeg_points_measure_the_decoded_files():
    images = _digits(4)
    points, decoded = rd.pillow_points(images, "JPEG", [10, 90])
    assert [p.setting for p in points] == ["quality 10", "quality 90"]
    assert points[0].bytes_per_image < points[1].bytes_per_image
    for p, q in zip(points, (10, 90)):
        assert p.mean_psnr_db == pytest.approx(metrics.mean_psnr(images, decoded[q], data_range=255))
    assert points[0].mean_psnr_db < points[1].mean_psnr_db


def test_codec_points_are_real_file_lengths(model):
    images = _digits(20)
    step = float(np.median(codec.prior_of(model).scale_values) / 2)
    (point,), decoded = rd.codec_points(images, model, [step], name="cae test", single_sample=5)
    blob = codec.compress(images, model, step=step)
    assert point.bytes_per_image == len(blob) / 20
    assert point.single_file_bytes == np.mean(
        [len(f) for f in codec.compress_each(images[:5], model, step=step)]
    )
    np.testing.assert_array_equal(decoded[step], codec.decompress(blob, model))
    assert point.ideal_bytes_per_image == pytest.approx(point.bytes_per_image, rel=0.1)
    assert point.as_dict()["method"] == "cae test"


def test_pareto_front_and_bytes_at():
    points = [
        rd.RDPoint("m", str(i), b, b, q, 0.9)
        for i, (b, q) in enumerate([(10, 20), (20, 19), (40, 30), (5, 15)])
    ]
    front = rd.pareto_front(points)
    assert front == [(5.0, 15.0), (10.0, 20.0), (40.0, 30.0)]  # (20 B, 19 dB) is beaten by (10 B, 20 dB)
    assert rd.bytes_at(front, 12.0) == 5.0  # below the front: its smallest file
    assert rd.bytes_at(front, 25.0) == pytest.approx(20.0)  # halfway in dB, geometric mean in bytes
    assert rd.bytes_at(front, 31.0) is None
    assert rd.bytes_at([], 20.0) is None


def test_plot_draws_one_line_per_method_and_png_as_a_vertical_line():
    points = [rd.RDPoint("cae latent 4", "a", 5, 20, 20, 0.9), rd.RDPoint("cae latent 4", "b", 8, 24, 22, 0.9),
              rd.RDPoint("WebP", "q0", 95, 95, 22.7, 0.9), rd.RDPoint("PNG", "lossless", 270, 270, math.inf, 1.0)]  # fmt: skip
    ax = rd.plot_rate_distortion(points, title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["cae latent 4", "WebP", "PNG (lossless)"]
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
