"""MNIST's preprocessing of a drawing (cae_lib.handwriting) and the handwriting lab, driven headless.

The round trip: MNIST test digits rescaled by x0.6 to x1.6, shifted by up to
6 pixels on a 72 x 72 canvas, then preprocessed again, come back with their
centre of mass within one pixel of the original's on each axis (measured on
the 200 digits here, seed 0: at most 0.94 px on an axis, 0.37 px on average
as a distance, 1.13 px at most), and close to the original pixel by pixel:
median PSNR 19.6 dB (the whole picture shrunk without the recipe, as
``cae compress`` does: 10.3 dB). The rescaling loses detail (x0.6 leaves a
12-pixel digit), and MNIST itself rounded some centres the other way, so a
digit one pixel off costs many dB: an MNIST digit put through again comes
back at a median 42.6 dB, not exactly.
"""

import io

import numpy as np
import pytest
from PIL import Image

from cae_lib import codec, environment, handwriting, metrics, pretrained
from cae_lib.imageio import ImageReadError, read_grayscale

N_DIGITS = 200


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist[1][0][:N_DIGITS]


def moved(digit, scale, dy, dx, canvas=72):
    """``digit`` resized by ``scale`` and pasted on a black ``canvas`` x ``canvas``, shifted by (dy, dx)."""
    side = round(28 * scale)
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    out = np.zeros((canvas, canvas), np.uint8)
    top, left = canvas // 2 - side // 2 + dy, canvas // 2 - side // 2 + dx
    out[top : top + side, left : left + side] = big
    return out


def test_shifted_and_rescaled_mnist_digits_come_back_centred_like_mnist(digits):
    rng = np.random.default_rng(0)
    errors, psnrs, as_is = [], [], []
    for digit in digits:
        scale, (dy, dx) = rng.uniform(0.6, 1.6), rng.integers(-6, 7, size=2)
        drawing = moved(digit, scale, dy, dx)
        out = handwriting.mnist_preprocess(drawing)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        errors.append(np.subtract(handwriting.centre_of_mass(out), handwriting.centre_of_mass(digit)))
        psnrs.append(metrics.psnr(digit[None], out[None], data_range=255)[0])
        as_is.append(metrics.psnr(digit[None], handwriting.as_is(drawing)[None], data_range=255)[0])
    errors = np.abs(errors)
    assert errors.max() <= 1.0, f"centre of mass off by {errors.max():.2f} px on one axis"
    assert np.hypot(errors[:, 0], errors[:, 1]).mean() < 0.5
    assert np.median(psnrs) > 18.0, np.median(psnrs)
    assert np.median(psnrs) > np.median(as_is) + 6.0, (np.median(psnrs), np.median(as_is))


def test_an_mnist_digit_is_almost_a_fixed_point(digits):
    outs = [handwriting.mnist_preprocess(d) for d in digits]
    psnr = metrics.psnr(digits, np.stack(outs), data_range=255)
    # Most come back pixel for pixel; a digit whose centre MNIST rounded the other way moves by one pixel.
    assert np.median(psnr) > 40.0, np.median(psnr)
    for digit, out in zip(digits, outs):
        assert (
            np.abs(np.subtract(handwriting.centre_of_mass(out), handwriting.centre_of_mass(digit))).max()
            <= 1.0
        )


def test_the_ink_fits_20_pixels_and_its_centre_is_at_14(digits):
    out = handwriting.mnist_preprocess(handwriting.example_drawing("A"))
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == handwriting.BOX
    assert np.all(np.abs(np.subtract(handwriting.centre_of_mass(out), 14.0)) <= 0.5)


def test_the_steps_are_captioned_images_ending_with_the_digit():
    digit, steps = handwriting.mnist_preprocess(handwriting.example_drawing("off-centre 7"), steps=True)
    assert [s.caption.split(":")[0] for s in steps] == [
        "your drawing", "cropped to the ink", "scaled into 20 × 20", "centred in 28 × 28",
    ]  # fmt: skip
    assert steps[0].image.shape == (handwriting.PAD_SIZE, handwriting.PAD_SIZE)
    assert max(steps[2].image.shape) == 20 and np.array_equal(steps[-1].image, digit)
    assert "cropped to the ink: 57 × 75" in steps[1].caption


@pytest.mark.parametrize(
    "blank",
    [np.zeros((280, 280), np.uint8), np.full((100, 60), 255, np.uint8), np.full((50, 50), 0.5),
     np.random.default_rng(0).integers(100, 110, (64, 64)).astype(np.uint8)],
    ids=["black", "white", "grey floats", "faint noise"],
)  # fmt: skip
def test_an_empty_drawing_is_a_clear_value_error(blank):
    with pytest.raises(ValueError, match="nothing is drawn"):
        handwriting.mnist_preprocess(blank)


def test_dark_ink_on_light_paper_is_inverted(digits):
    drawing = moved(digits[3], 1.3, 4, -5)
    light = handwriting.mnist_preprocess(drawing)
    paper = np.stack([255 - drawing] * 3, axis=-1)  # RGB, dark ink on white
    digit, steps = handwriting.mnist_preprocess(paper, steps=True)
    assert np.array_equal(digit, light)
    assert "inverted" in steps[1].caption
    assert np.array_equal(handwriting.mnist_preprocess(255 - drawing, invert="yes"), light)
    with pytest.raises(ValueError, match="invert"):
        handwriting.mnist_preprocess(drawing, invert="maybe")


def test_a_photo_on_grey_paper_loses_its_background(digits):
    drawing = moved(digits[5], 1.5, 0, 0, canvas=96).astype(np.float64)
    rng = np.random.default_rng(1)
    photo = np.clip(200 - drawing * 0.6 + rng.normal(0, 3, drawing.shape), 0, 255).astype(np.uint8)
    digit = handwriting.mnist_preprocess(photo)
    reference = handwriting.mnist_preprocess(drawing.astype(np.uint8))
    assert metrics.psnr(reference[None], digit[None], data_range=255)[0] > 20
    assert (
        np.abs(np.subtract(handwriting.centre_of_mass(digit), handwriting.centre_of_mass(reference))).max()
        <= 1
    )


def test_from_file_reads_a_large_photo_by_path_and_by_bytes(tmp_path, digits):
    page = Image.fromarray(255 - moved(digits[7], 1.0, 0, 0, canvas=28)).resize((900, 600))
    path = tmp_path / "digit.jpg"
    page.convert("RGB").save(path, quality=92)
    pixels, notes = read_grayscale(path)
    assert max(pixels.shape) <= 447 and pixels.dtype == np.uint8 and any("box-averaged" in n for n in notes)
    by_path = handwriting.from_file(path)
    assert np.array_equal(by_path, handwriting.from_file(path.read_bytes()))
    assert np.abs(np.subtract(handwriting.centre_of_mass(by_path), 14.0)).max() <= 0.5
    with pytest.raises(ImageReadError, match="not an image"):
        read_grayscale(b"not an image at all")
    with pytest.raises(FileNotFoundError):
        handwriting.from_file(tmp_path / "missing.png")


def test_code_digit_makes_real_files_and_measures_them():
    digit = handwriting.mnist_preprocess(handwriting.example_drawing("7"))
    model = pretrained.load_pretrained(8)
    coded = handwriting.code_digit(digit, {8: model}, steps=(0.5, 2.0))
    assert [(c.latent_dim, c.step) for c in coded] == [(8, 0.5), (8, 2.0)]
    for c in coded:
        assert c.data == codec.compress(digit[None], model, step=c.step)
        decoded = codec.decompress(c.data, model)
        assert np.array_equal(decoded[0], c.decoded) and c.file_bytes == len(c.data)
        assert c.psnr_db == pytest.approx(metrics.psnr(digit[None], decoded, data_range=255)[0])


def test_the_figures_describe_themselves():
    from cae_lib.figure_text import description

    digit, steps = handwriting.mnist_preprocess(handwriting.example_drawing("A"), steps=True)
    text = description(handwriting.steps_figure(steps))
    assert text.startswith("MNIST's preprocessing") and "centred in 28 × 28" in text
    coded = handwriting.code_digit(digit, {8: pretrained.load_pretrained(8)}, steps=(1.0,))
    text = description(handwriting.codec_figure(digit, coded, title="A"))
    assert f"{coded[0].file_bytes} bytes" in text and f"{coded[0].psnr_db:.1f} dB" in text
    import matplotlib.pyplot as plt

    plt.close("all")


# --------------------------------------------------------------------------- the lab, headless


@pytest.fixture(scope="module")
def lab():
    pytest.importorskip("anywidget")
    from cae_lib import widgets

    return widgets.HandwritingLab({d: pretrained.load_pretrained(d) for d in (8, 28)}, steps=(1.0, 2.0))


def test_the_lab_compresses_what_the_pad_holds(lab):
    from cae_lib.widgets import pad

    lab.pad.image = ""
    assert lab.run_pad() is None and "Nothing is drawn yet" in lab.status.value
    lab.pad.image = pad.png_data_url(handwriting.example_drawing("7"))
    lab.compress_button.click()
    result = lab.result
    assert result.source == "your drawing" and len(result.coded) == 4
    expected = handwriting.mnist_preprocess(handwriting.example_drawing("7"))
    assert np.array_equal(result.digit, expected)
    for c in result.coded:
        assert f"{c.file_bytes} bytes, {c.psnr_db:.1f} dB" in lab.stats.value
    assert bytes(lab.codec_image.value)[:4] == b"\x89PNG" and "real .cae file" in lab.codec_image.tooltip
    assert bytes(lab.steps_image.value)[:4] == b"\x89PNG" and "preprocessing" in lab.steps_image.tooltip
    assert f"{result.as_is.file_bytes} bytes" in lab.stats.value


def test_the_lab_takes_an_upload_and_says_what_is_wrong_with_a_bad_one(lab):
    buffer = io.BytesIO()
    Image.fromarray(255 - handwriting.example_drawing("A")).save(buffer, format="PNG")
    upload = ({"name": "a.png", "type": "image/png", "size": 1, "content": memoryview(buffer.getvalue())},)
    lab._on_upload({"new": upload})
    assert lab.result.source == "the photo a.png"
    assert np.array_equal(lab.result.digit, handwriting.mnist_preprocess(handwriting.example_drawing("A")))
    lab._on_upload({"new": {"b.png": {"metadata": {}, "content": b"garbage"}}})  # ipywidgets 7's value
    assert "b.png" in lab.status.value and "not an image" in lab.status.value
    blank = io.BytesIO()
    Image.new("L", (50, 50), 255).save(blank, format="PNG")
    lab._on_upload({"new": ({"name": "blank.png", "content": blank.getvalue()},)})
    assert "nothing is drawn" in lab.status.value


def test_an_example_goes_on_the_pad_and_through_the_lab(lab):
    lab.examples.value = "off-centre 7"
    assert lab.result.source == "the example off-centre 7"
    assert lab.pad.image.startswith("data:image/png;base64,")
    from cae_lib.widgets.pad import decode_data_url

    assert np.array_equal(decode_data_url(lab.pad.image), handwriting.example_drawing("off-centre 7"))


def test_without_anywidget_the_setup_cell_is_content_and_the_lab_offers_the_upload(monkeypatch):
    from cae_lib import widgets
    from cae_lib.widgets import pad

    monkeypatch.setattr(environment, "installed_version", lambda p: None if p == "anywidget" else "99")
    assert environment.problems({"anywidget": ">=0.9.0"}) == []
    monkeypatch.setattr(environment, "installed_version", lambda p: "0.1.0")
    assert environment.problems({"anywidget": ">=0.9.0"})[0].found == "0.1.0"  # too old is still a problem
    monkeypatch.setattr(pad, "have_anywidget", lambda: False)
    lab = widgets.HandwritingLab({8: pretrained.load_pretrained(8)}, steps=(1.0,))
    assert lab.pad is None and "anywidget" in lab.widget.children[0].value
    assert lab.run(handwriting.example_drawing("7")) is not None
