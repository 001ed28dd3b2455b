"""Notebook 04's exercises: every solution passes its check, plausible wrong answers fail with a useful message.

Also the codec pipeline diagram of :mod:`cae_lib.plotting` that notebook 04 draws.
"""

import constriction
import matplotlib
import numpy as np
import pytest
from conftest import rejects, run_solution

matplotlib.use("Agg")

from cae_lib import codec, data, exercises, models, plotting  # noqa: E402
from cae_lib.exercises import nb04 as check  # noqa: E402

pytestmark = pytest.mark.usefixtures("strict")


def source_of(exercise_id: str, old: str, new: str) -> str:
    """The solution with one plausible mistake put in (``old`` must be there)."""
    source = exercises.solution_path(exercise_id).read_text()
    assert old in source, f"{old!r} is not in the solution of {exercise_id}"
    return source.replace(old, new)


@pytest.fixture(scope="module")
def shipped(mnist):
    """100 MNIST test digits and the shipped latent-28 codec model."""
    from cae_lib import pretrained

    return mnist[1][0][:100], pretrained.load_pretrained(28)


@pytest.fixture(scope="module")
def tiny(tiny_codec_model):
    """Fake digits and the tiny codec model with its encoder and prior, as the notebook names them."""
    from conftest import fake_digits

    model = tiny_codec_model
    return {
        "digits": fake_digits(6, seed=5),
        "x_train": fake_digits(300, seed=3),
        "model": model,
        "encoder": models.encoder_of(model),
        "prior": codec.prior_of(model),
    }


# Exercise 1: the largest step that keeps 23 dB


def test_ex1_solution_passes(shipped, capsys):
    digits, model = shipped
    ns = run_solution("04_compressing_ex1", digits=digits, model=model)
    check.largest_step(ns["best_step"], digits, model, bytes_per_digit=ns["best_bytes"])
    assert (
        f"✓ Exercise 04_compressing_ex1 (the largest step that keeps 23 dB): step {ns['best_step']} keeps"
        in capsys.readouterr().out
    )


def test_ex1_rejects_a_step_too_large_or_too_small_and_the_file_size(shipped):
    digits, model = shipped
    ns = run_solution("04_compressing_ex1", digits=digits, model=model)
    best, per_digit = ns["best_step"], ns["best_bytes"]
    with pytest.raises(exercises.ExerciseFailed, match=r"below 23 dB: the answer is a smaller step"):
        check.largest_step(round(best + 0.1, 1), digits, model, bytes_per_digit=per_digit)
    with pytest.raises(
        exercises.ExerciseFailed, match=r"still keeps .* dB \(at least 23\): a larger step works"
    ):
        check.largest_step(round(best - 0.1, 1), digits, model, bytes_per_digit=per_digit)
    with pytest.raises(exercises.ExerciseFailed, match=r"is the whole file of 100 digits"):
        check.largest_step(best, digits, model, bytes_per_digit=per_digit * 100)
    with pytest.raises(exercises.ExerciseFailed, match=r"one decimal"):
        check.largest_step(best + 0.05, digits, model, bytes_per_digit=per_digit)


def test_ex1_rejects_bits_per_digit_and_the_bytes_of_the_first_step_below_23_db(shipped):
    digits, model = shipped
    ns = run_solution("04_compressing_ex1", digits=digits, model=model)
    best, per_digit = ns["best_step"], ns["best_bytes"]
    rejects(
        check.largest_step,
        best,
        digits,
        model,
        bytes_per_digit=8 * per_digit,
        match=r"that is bits per digit",
    )
    # The loop's off-by-one: the bytes measured at the step that broke the loop, not at the step kept.
    past = codec.measure(digits, model, step=round(best + 0.1, 1)).bytes_per_image
    assert abs(past - per_digit) > 0.06
    rejects(
        check.largest_step, best, digits, model, bytes_per_digit=past,
        match=rf"that is the bytes at step {round(best + 0.1, 1)}, the first step below 23 dB",
    )  # fmt: skip
    # The second review: the ideal size (bits / 8) and the payload alone passed within the old 0.06 tolerance.
    symbols = codec.latents_to_symbols(codec.encode_latents(digits, model), model, best)
    ideal = codec.symbol_bits(symbols, model, best) / len(symbols) / 8
    payload = codec.read_header(codec.compress(digits, model, step=best)).payload_bytes / len(digits)
    rejects(
        check.largest_step,
        best,
        digits,
        model,
        bytes_per_digit=ideal,
        match=r"the ideal size the prior predicts",
    )
    rejects(
        check.largest_step, best, digits, model, bytes_per_digit=payload, match=r"that is the payload alone"
    )
    check.largest_step(
        best, digits, model, bytes_per_digit=round(per_digit, 2)
    )  # rounded to two decimals: fine
    # A step chosen by the PSNR of the pooled squared error (lower than the mean of per-digit PSNRs): named.
    pooled = {}
    for step in np.round(np.arange(0.5, best + 0.05, 0.1), 1):
        decoded = codec.decompress(codec.compress(digits, model, step=step), model)
        pooled[step] = 10 * np.log10(255.0**2 / np.mean((digits.astype(np.float64) - decoded) ** 2))
    by_pooled = max(s for s, p in pooled.items() if p >= 23)
    assert by_pooled < best  # on these digits the two rules part
    measured = codec.measure(digits, model, step=by_pooled).bytes_per_image
    rejects(
        check.largest_step, by_pooled, digits, model, bytes_per_digit=measured, match=r"pooled squared error"
    )


def test_ex1_unanswered_prints_not_answered_and_goes_on(shipped, monkeypatch, capsys):
    monkeypatch.delenv(exercises.STRICT_ENV)
    digits, model = shipped
    assert check.largest_step(..., digits, model, bytes_per_digit=...) is None
    assert "○ Exercise 04_compressing_ex1" in capsys.readouterr().out


# Exercise 2: one file against single files


def test_ex2_solution_passes(tiny, capsys):
    ns = run_solution("04_compressing_ex2", digits=np.repeat(tiny["digits"], 17, axis=0), model=tiny["model"])
    check.batch_saving(ns["saved"], ns["digits"][:100], tiny["model"], from_headers=ns["from_headers"])
    assert "from 99 headers of 11 bytes" in capsys.readouterr().out  # format version 2 at step 1


def test_ex2_rejects_a_hundred_headers_and_a_reversed_sign(tiny):
    digits = np.repeat(tiny["digits"], 17, axis=0)[:100]
    ns = run_solution("04_compressing_ex2", digits=digits, model=tiny["model"])
    with pytest.raises(
        exercises.ExerciseFailed, match=r"off by one: the one file keeps a header too, so 99 headers"
    ):
        check.batch_saving(ns["saved"], digits, tiny["model"], from_headers=100 * 11)
    with pytest.raises(exercises.ExerciseFailed, match=r"the sign is the wrong way round"):
        check.batch_saving(-ns["saved"], digits, tiny["model"], from_headers=ns["from_headers"])
    with pytest.raises(exercises.ExerciseFailed, match=r"count header and checksum"):
        check.batch_saving(ns["saved"], digits, tiny["model"], from_headers=99 * 7)  # 11 minus the CRC


def test_ex2_rejects_one_side_and_a_count_of_files(tiny):
    digits = np.repeat(tiny["digits"], 17, axis=0)[:100]
    ns = run_solution("04_compressing_ex2", digits=digits, model=tiny["model"])
    singles = sum(len(f) for f in codec.compress_each(digits, tiny["model"], step=1.0))
    batch = len(codec.compress(digits, tiny["model"], step=1.0))
    for one_side in (singles, batch):  # forgot to subtract the other side
        rejects(
            check.batch_saving, one_side, digits, tiny["model"], from_headers=ns["from_headers"],
            match=rf"{one_side} bytes is the size of one side",
        )  # fmt: skip
    rejects(
        check.batch_saving, 99, digits, tiny["model"], from_headers=ns["from_headers"],
        match=r"that counts files, not bytes",
    )  # fmt: skip


# Exercise 3: the prior with and without its rotation


@pytest.fixture(scope="module")
def ex3(shipped, mnist):
    digits, model = shipped
    latents = codec.encode_latents(digits, model)
    ns = run_solution("04_compressing_ex3", x_train=mnist[0][0][:1000], model=model, latents=latents)
    return ns, latents, model


def test_ex3_solution_passes(ex3, capsys):
    ns, latents, model = ex3
    check.rotation_worth_it(
        ns["plain"], ns["rotated"], ns["bytes_plain"], ns["bytes_rotated"], latents=latents, model=model
    )
    assert "the rotation saves" in capsys.readouterr().out
    answer = ns["plain"], ns["rotated"], ns["bytes_plain"], ns["bytes_rotated"]
    check.rotation_worth_it(*answer, latents=latents, model=model, x_train=ns["x_train"])
    assert "the rotation saves" in capsys.readouterr().out


@pytest.mark.parametrize("fitted_on", ["test digits", "test digits, plain only", "other training digits"])
def test_ex3_rejects_priors_fitted_on_other_digits(ex3, shipped, mnist, fitted_on):
    ns, latents, model = ex3
    digits, _ = shipped
    sample = digits if fitted_on.startswith("test") else mnist[0][0][5000:6000]
    plain = codec.attach_prior(model, sample, decorrelate=False)
    rotated = ns["rotated"] if fitted_on.endswith("plain only") else codec.attach_prior(model, sample)

    def ideal(m):
        s = codec.latents_to_symbols(latents, m, 1.0)
        return codec.symbol_bits(s, m, 1.0) / len(s) / 8

    message = (
        "fitted on the test digits"
        if fitted_on.startswith("test")
        else "differs from one fitted on train_sample"
    )
    with pytest.raises(exercises.ExerciseFailed, match=message):
        check.rotation_worth_it(
            plain, rotated, ideal(plain), ideal(rotated), latents=latents, model=model, x_train=ns["x_train"]
        )


def test_ex3_rejects_bits_for_bytes_swapped_figures_and_two_rotated_priors(ex3):
    ns, latents, model = ex3
    plain, rotated, bp, br = ns["plain"], ns["rotated"], ns["bytes_plain"], ns["bytes_rotated"]
    with pytest.raises(exercises.ExerciseFailed, match=r"that is bits per digit; divide by 8"):
        check.rotation_worth_it(plain, rotated, 8 * bp, br, latents=latents, model=model)
    with pytest.raises(exercises.ExerciseFailed, match=r"the two are swapped"):
        check.rotation_worth_it(plain, rotated, br, bp, latents=latents, model=model)
    with pytest.raises(exercises.ExerciseFailed, match=r"plain's prior has decorrelate=True"):
        check.rotation_worth_it(rotated, rotated, br, br, latents=latents, model=model)
    with pytest.raises(exercises.ExerciseFailed, match=r"all 100 digits together"):
        check.rotation_worth_it(plain, rotated, bp, 100 * br, latents=latents, model=model)


def test_ex3_rejects_the_real_files_bytes_even_where_they_are_within_rounding_of_the_ideal(ex3, shipped):
    """The learner review: in full mode (10,000 digits) the real file's bytes per digit passed as ideal bytes."""
    ns, latents, model = ex3
    digits, _ = shipped
    plain, rotated = ns["plain"], ns["rotated"]
    real_plain = codec.measure(digits, plain, step=1.0).bytes_per_image
    real_rotated = codec.measure(digits, rotated, step=1.0).bytes_per_image
    with pytest.raises(
        exercises.ExerciseFailed, match=r"bytes_plain = .* is the real file's bytes per digit"
    ):
        check.rotation_worth_it(plain, rotated, real_plain, real_rotated, latents=latents, model=model)
    # Rounded to two decimals is fine, and the message of a wrong figure says how much rounding is allowed.
    check.rotation_worth_it(
        plain, rotated, round(ns["bytes_plain"], 2), ns["bytes_rotated"], latents=latents, model=model
    )
    with pytest.raises(exercises.ExerciseFailed, match=r"allows 0.006 for rounding"):
        check.rotation_worth_it(
            plain, rotated, ns["bytes_plain"] + 0.05, ns["bytes_rotated"], latents=latents, model=model
        )


# Exercise 4: a digit range-coded by hand

TINY_STEPS = (2.0**-6, 2.0**-7)
"""Steps at which the tiny model's latents (about 0.03 across) give symbols of a few units."""


def test_ex4_solution_passes_on_the_tiny_model(tiny, capsys):
    ns = run_solution("04_compressing_ex4", **tiny)
    check.by_hand(ns["encode_by_hand"], tiny["digits"], tiny["model"], steps=TINY_STEPS)
    assert "equal the codec's byte for byte" in capsys.readouterr().out


def _ex4_context(digits, model) -> dict:
    """What notebook 04 holds when Exercise 4 starts."""
    return {
        "digits": digits,
        "model": model,
        "encoder": models.encoder_of(model),
        "prior": codec.prior_of(model),
    }


def test_ex4_solution_passes_on_the_shipped_model(shipped):
    digits, model = shipped
    context = _ex4_context(digits, model)
    ns = run_solution("04_compressing_ex4", **context)
    check.by_hand(ns["encode_by_hand"], digits[:3], model)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "prior.to_coordinates(z)[0]",
            "(z - prior.loc_values)[0]",
            r"they are not rotated: use y = prior.to_coordinates",
        ),
        ("np.rint(y / step)", "np.floor(y / step)", r"np.floor rounds down"),
        ("np.rint(y / step)", "np.rint(y)", r"divide y by the step \(0.015625\) before rounding"),
        (
            "QuantizedGaussian(-reach, reach)",
            "QuantizedGaussian(-200, 200)",
            r"symbols are right but .*QuantizedGaussian\(",
        ),
        ('words.astype("<u4").tobytes()', 'words.astype(">u4").tobytes()', r"32-bit word are reversed"),
        ("return symbols, words", "return symbols.astype(float) + 0.5, words", r"symbols should be integers"),
        ('.tobytes().rstrip(b"\\0")', "", r"payload is an array of uint32"),
        (
            "data.to_float(digit[None])",
            "digit[None].astype(np.float32)[..., None] * 1e4",
            r"constriction refused a symbol .* pixels 0-255\? scale the digit first",
        ),
    ],
    ids=[
        "unrotated",
        "floor",
        "no-step",
        "other-support",
        "big-endian",
        "half-integers",
        "words",
        "unscaled",
    ],
)
def test_ex4_rejects_a_plausible_mistake(tiny, old, new, message):
    ns = dict(tiny, np=np, data=data, constriction=constriction)
    source = source_of("04_compressing_ex4", old, new)
    exec(source[: source.index("\nsymbols_0")], ns)  # the function only, not the solution's demo of digit 0
    with pytest.raises(exercises.ExerciseFailed, match=message):
        check.by_hand(ns["encode_by_hand"], tiny["digits"], tiny["model"], steps=TINY_STEPS)


def test_ex4_a_forgotten_rstrip_is_caught_although_the_given_digits_end_in_no_zero(shipped):
    """The learner review: forgetting .rstrip(b"\\0") passed, since none of the three digits' payloads ends in 0."""
    digits, model = shipped
    context = _ex4_context(digits, model)
    ns = dict(context, np=np, data=data, constriction=constriction)
    source = source_of("04_compressing_ex4", 'tobytes().rstrip(b"\\0")', "tobytes()")
    exec(source[: source.index("\nsymbols_0")], ns)
    with pytest.raises(exercises.ExerciseFailed, match="shifted .* px .*zero bytes the codec drops"):
        check.by_hand(ns["encode_by_hand"], digits[:3], model)


def test_ex4_names_trailing_zeros_and_byte_order():
    scale, step = np.array([3.0, 0.5, 1.0]), 1.0
    symbols = np.array([2, 0, -1], np.int32)
    payload = codec.entropy.encode_symbols(symbols[None], scale, step)
    hint = check._payload_hint(payload + b"\0\0", payload, scale, step, symbols)
    assert "ends with 2 zero bytes the codec drops" in hint
    padded = payload + b"\0" * (-len(payload) % 4)
    swapped = np.frombuffer(padded, "<u4").astype(">u4").tobytes()
    if swapped != padded:
        assert "reversed" in check._payload_hint(swapped, payload, scale, step, symbols)


def test_ex4_stub_is_not_answered_and_a_forgotten_return_is_named(tiny, monkeypatch, capsys):
    monkeypatch.delenv(exercises.STRICT_ENV)

    def encode_by_hand(digit, step):  # the notebook's stub
        ...
        return None  # when done: return symbols, payload

    check.by_hand(encode_by_hand, tiny["digits"], tiny["model"], steps=TINY_STEPS)
    assert (
        "○ Exercise 04_compressing_ex4 (code a digit by hand with constriction): not answered yet"
        in capsys.readouterr().out
    )

    def forgets_return(digit, step):
        symbols = np.zeros(6, np.int32)
        print(len(symbols))

    check.by_hand(forgets_return, tiny["digits"], tiny["model"], steps=TINY_STEPS)
    assert "✗ Exercise 04_compressing_ex4" in (out := capsys.readouterr().out) and "forget `return`" in out


# The pipeline diagram


def test_codec_pipeline_diagram_labels_every_stage_with_its_size():
    fig = plotting.codec_pipeline_diagram(
        latent_dim=28, step=1.0, symbols=[6, -3, -10, -3, -1], payload_bytes=12, file_bytes=28, psnr_db=23.4
    )
    texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
    for label in ["784 B", "28 float32\n= 112 B", "28 integers\n[6, -3, -10, -3, …]", "28 B =\n16 header/CRC\n+ 12 payload",
                  "step = 1", "23.4 dB", "encoder", "rotate", "quantise", "range coder", "range decoder",
                  "un-rotate", "decoder"]:  # fmt: skip
        assert label in texts, label
    small = plotting.codec_pipeline_diagram(latent_dim=8)
    assert "8 float32\n= 32 B" in "\n".join(t.get_text() for t in small.axes[0].texts)
    with pytest.raises(ValueError, match="latent_dim"):
        plotting.codec_pipeline_diagram(latent_dim=0)
    matplotlib.pyplot.close("all")
