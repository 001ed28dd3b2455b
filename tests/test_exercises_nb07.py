"""Notebook 07's checks: each solution passes, and a plausible wrong answer fails with a message that says why."""

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import rejects, run_solution

from cae_lib import codec, exercises, metrics, pretrained, widgets
from cae_lib.exercises import nb07 as check

CURVE = [
    (2, 8.0, 15.3),
    (8, 32.0, 20.2),
    (16, 64.0, 22.8),
    (28, 112.0, 24.6),
    (32, 128.0, 25.2),
    (64, 256.0, 26.1),
]


def fake_explorer(curve=CURVE):
    slider = SimpleNamespace(value=28)

    def update():
        return SimpleNamespace(indices=explorer.indices, mean_psnr_db=20.0, quantisation="step 1")

    explorer = SimpleNamespace(
        curve={widgets.FLOAT: curve}, latent_slider=slider, n_digits=8, indices=None, update=update
    )
    return explorer


def test_ex1_solution_passes_and_the_best_or_a_too_small_size_fail(strict, capsys):
    ns = run_solution("07_latent_size_explorer_ex1", explorer=fake_explorer())
    assert ns["flat_point"](CURVE) == 32
    assert check.flattening(ns["flat_point"], CURVE) is ns["flat_point"]
    out = capsys.readouterr().out
    assert "✓ Exercise 07_latent_size_explorer_ex1" in out and "also right on 2 made-up curves" in out
    assert check.flattening(32, CURVE) == 32  # a size given directly is checked on the sweep only
    with pytest.raises(
        exercises.ExerciseFailed, match="smallest size that is close to the best, not the best itself"
    ):
        check.flattening(64, CURVE)
    with pytest.raises(exercises.ExerciseFailed, match=r"latent 28 gives 24.60 dB, 1.50 dB below the best"):
        check.flattening(28, CURVE)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (128.0, "a number of bytes per digit .*the second column"),  # latent 32's bytes, not its size
        (25.2, r"a PSNR in dB .*the third column"),  # latent 32's PSNR
        (4, "the position of a row"),  # the index of latent 32 in the sweep
        (32.5, "not one of the sweep's latent sizes"),  # not truncated to 32
        (16, r"latent 16 gives 22.80 dB, 3.30 dB below the best"),  # 1 dB read as "a few dB"
        ("32", "not the text '32'"),  # the learner review: text passed
    ],
    ids=["bytes column", "psnr column", "row index", "not an integer", "a smaller size", "text"],
)
def test_ex1_another_column_an_index_or_a_fraction_fail(strict, wrong, match):
    rejects(check.flattening, wrong, CURVE, match=match)


def _first_small_gain(rows):
    for (_, _, before), (size, _, after) in zip(rows, rows[1:]):
        if after - before < 1.0:
            return size
    return rows[-1][0]


def _last_row_as_best(rows):
    return min(size for size, _, psnr in rows if psnr >= rows[-1][2] - 1.0)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (_first_small_gain, "first size whose gain over the previous one is under 1 dB"),
        (_last_row_as_best, "takes the last row as the best"),
        (lambda rows: 32, r"your function gives 32, the rule"),
    ],
    ids=["first gain under 1 dB", "last row as the best", "a constant"],
)
def test_ex1_a_shortcut_right_on_the_sweep_is_caught_on_made_up_curves(strict, function, message):
    """The learner review: 'the first size whose gain is under 1 dB' gave 32 on the real sweep too, and passed."""
    real = [(2, 8.0, 15.34), (4, 16.0, 17.41), (8, 32.0, 20.18), (16, 64.0, 22.79), (28, 112.0, 24.63),
            (32, 128.0, 25.17), (64, 256.0, 26.10)]  # fmt: skip
    assert function(real) == 32  # right where it was tried
    rejects(check.flattening, function, real, match=f"right on the explorer's sweep.*{message}")


def test_ex1_unanswered_says_so_and_goes_on(capsys):
    assert check.flattening(..., CURVE) is None
    assert "○ Exercise 07_latent_size_explorer_ex1" in capsys.readouterr().out


@pytest.fixture(scope="module")
def few_digits(mnist):
    (_, _), (x_test, y_test) = mnist
    return x_test[:300], y_test[:300]


def test_ex2_solution_passes_and_max_for_min_or_data_range_1_fail(strict, few_digits, capsys):
    x, y = few_digits
    ns = run_solution("07_latent_size_explorer_ex2", x_test=x, y_test=y, explorer=fake_explorer())
    check.worst_class(ns["psnr_by_class"], ns["sample"], ns["labels"], worst=ns["worst"])
    assert "✓ Exercise 07_latent_size_explorer_ex2" in capsys.readouterr().out
    by_class = ns["psnr_by_class"]
    best = max(by_class, key=by_class.get)
    with pytest.raises(exercises.ExerciseFailed, match=r"the best one: min, not max"):
        check.worst_class(by_class, x, y, worst=best)
    in_unit_range = {c: p - 20 * np.log10(255) for c, p in by_class.items()}  # data_range=1 on uint8 digits
    with pytest.raises(exercises.ExerciseFailed, match="pass data_range=255, not 1"):
        check.worst_class(in_unit_range, x, y, worst=ns["worst"])
    # The second learner review: floats in [0, 1] measured with data_range=255 (the hint said "a larger latent?"),
    # and text keys or a text class (they passed).
    floats_at_255 = {c: p + 20 * np.log10(255) for c, p in by_class.items()}
    with pytest.raises(exercises.ExerciseFailed, match="about 48 dB too high: images scaled to"):
        check.worst_class(floats_at_255, x, y, worst=ns["worst"])
    with pytest.raises(exercises.ExerciseFailed, match="keys are text"):
        check.worst_class({str(c): p for c, p in by_class.items()}, x, y, worst=ns["worst"])
    with pytest.raises(exercises.ExerciseFailed, match="not the text"):
        check.worst_class(by_class, x, y, worst=str(ns["worst"]))


def test_ex2_the_codec_at_step_2_instead_of_the_float_latent_fails(strict, few_digits):
    x, y = few_digits
    model = pretrained.load_pretrained(8)
    psnr = metrics.psnr(x, codec.decompress(codec.compress(x, model, step=2.0), model), data_range=255)
    coded = {c: float(psnr[y == c].mean()) for c in range(10)}
    with pytest.raises(exercises.ExerciseFailed, match="the float latent"):
        check.worst_class(coded, x, y, worst=min(coded, key=coded.get))


def test_ex2_pooled_mse_another_latent_the_training_digits_or_a_psnr_for_worst_fail(
    strict, mnist, few_digits
):
    x, y = few_digits
    model8 = pretrained.load_pretrained(8)
    decoded = codec.decode_latents(codec.encode_latents(x, model8), model8)
    psnr = metrics.psnr(x, decoded, data_range=255)
    right = {c: float(psnr[y == c].mean()) for c in range(10)}
    worst = min(right, key=right.get)
    mse = np.mean((x.astype(np.float64) - decoded) ** 2, axis=(1, 2))
    # the PSNR of each class's mean MSE, not the mean of its digits' PSNRs
    pooled = {c: float(10 * np.log10(255.0**2 / mse[y == c].mean())) for c in range(10)}
    rejects(check.worst_class, pooled, x, y, worst=min(pooled, key=pooled.get),
            match="PSNR of each class's mean squared error.*mean of the per-digit PSNRs")  # fmt: skip
    model16 = pretrained.load_pretrained(16)
    psnr16 = metrics.psnr(x, codec.decode_latents(codec.encode_latents(x, model16), model16), data_range=255)
    bigger = {c: float(psnr16[y == c].mean()) for c in range(10)}
    rejects(check.worst_class, bigger, x, y, worst=min(bigger, key=bigger.get),
            match=r"higher everywhere: a larger latent.*load_pretrained\(8\)")  # fmt: skip
    (x_train, y_train), _ = mnist
    train_x, train_y = x_train[:300], y_train[:300]  # the wrong split: training digits
    psnr_train = metrics.psnr(
        train_x, codec.decode_latents(codec.encode_latents(train_x, model8), model8), data_range=255
    )
    on_train = {c: float(psnr_train[train_y == c].mean()) for c in range(10)}
    rejects(check.worst_class, on_train, x, y, worst=min(on_train, key=on_train.get),
            match=r"class \d has a mean PSNR of .*higher everywhere: .*or other digits")  # fmt: skip
    rejects(
        check.worst_class, right, x, y, worst=right[worst], match="that is a PSNR in dB; worst is the class"
    )
    rejects(
        check.worst_class, right[worst], x, y, worst=worst, match="one number .* one mean per digit class"
    )


SMALL_GRID = {"latent_dims": [16, 28], "steps": [0.5, 1.0]}


def test_ex3_solution_passes_and_a_bigger_or_too_coarse_setting_fails(strict, mnist, capsys):
    x_test = mnist[1][0]
    small = SimpleNamespace(
        available_latent_dims=lambda: SMALL_GRID["latent_dims"], load_pretrained=pretrained.load_pretrained
    )
    ns = run_solution(
        "07_latent_size_explorer_ex3",
        x_test=x_test,
        pretrained=small,
        widgets=SimpleNamespace(DEFAULT_STEPS=SMALL_GRID["steps"]),
    )
    digits = ns["target_digits"]
    check.cheapest_setting(ns["best"], digits, target_db=ns["TARGET_DB"], **SMALL_GRID)
    assert "✓ Exercise 07_latent_size_explorer_ex3" in capsys.readouterr().out
    assert ns["best"] == (28, 0.5)
    with pytest.raises(exercises.ExerciseFailed, match=r"keep the one with the fewest bytes"):
        check.cheapest_setting((28, 0.25), digits, target_db=24.0, **SMALL_GRID)
    with pytest.raises(
        exercises.ExerciseFailed, match=r"latent 28, step 1 gives 2\d.\d\d dB .* below the 24 dB target"
    ):
        check.cheapest_setting((28, 1.0), digits, target_db=24.0, **SMALL_GRID)
    with pytest.raises(exercises.ExerciseFailed, match="not a file"):
        check.cheapest_setting((28, widgets.FLOAT), digits, target_db=24.0, **SMALL_GRID)


def test_ex3_a_swapped_pair_a_fractional_size_or_a_zero_step_fail(strict, mnist):
    digits = mnist[1][0][1000:1100]
    rejects(check.cheapest_setting, (0.5, 28), digits, target_db=24.0, match=r"looks swapped: the pair is \(latent size, step\)",
            **SMALL_GRID)  # fmt: skip
    rejects(check.cheapest_setting, (28.5, 0.5), digits, target_db=24.0, match="latent size 28.5 is not shipped",
            **SMALL_GRID)  # fmt: skip
    rejects(check.cheapest_setting, (28, "0.5"), digits, target_db=24.0, match="not text", **SMALL_GRID)
    rejects(
        check.cheapest_setting,
        (28, 0),
        digits,
        target_db=24.0,
        match="the step should be positive",
        **SMALL_GRID,
    )
