"""Notebook 08's checks: each solution passes, and a plausible wrong answer fails with a message that says why.

A tiny untrained codec model (conftest.py) stands in for the pretrained one, so that exporting it to TFLite
takes a moment; the fake digits stand in for MNIST.
"""

import numpy as np
import pytest
from conftest import rejects, run_solution

from cae_lib import codec, data, deploy, exercises, metrics, models
from cae_lib.exercises import nb08 as check


@pytest.fixture(scope="module")
def setup(tiny_codec_model, fake_digits, tmp_path_factory):
    """What the notebook has when its exercises start: model, halves, runners, digits, a working folder."""
    workdir = tmp_path_factory.mktemp("nb08")
    saved = deploy.export_saved_model(models.decoder_of(tiny_codec_model), workdir / "decoder_savedmodel")
    runners = {
        "TFLite float32": deploy.TFLiteRunner(deploy.export_tflite(saved)),
        "TFLite 8-bit weights": deploy.TFLiteRunner(deploy.export_tflite(saved, optimize=True)),
    }
    return {
        "np": np, "codec": codec, "data": data, "deploy": deploy, "metrics": metrics, "models": models,
        "model": tiny_codec_model, "sender": codec.sender_of(tiny_codec_model),
        "receiver": codec.receiver_of(tiny_codec_model), "runners": runners,
        "x_test": fake_digits(1000, seed=3), "workdir": workdir, "QUICK": True,
    }  # fmt: skip


@pytest.fixture(scope="module")
def trained(fake_digits):
    """The shipped latent-8 model with its Keras decoder as the runner: unlike the untrained tiny model, its
    pixels follow the latents, so a mistake with the latents shows (the check's reference is the same decoder)."""
    from cae_lib import pretrained

    model = pretrained.load_pretrained(8)
    decoder = models.decoder_of(model)
    return {"sender": codec.sender_of(model), "receiver": codec.receiver_of(model),
            "run_decoder": lambda latents: np.asarray(decoder(latents, training=False)),
            "digits": fake_digits(300, seed=5)}  # fmt: skip


def files_of(setup):
    x, sender = setup["x_test"], setup["sender"]
    return [codec.compress(x[:10], sender, step=1.0), codec.compress(x[20:25], sender, step=2.0)]


def test_ex1_solution_passes_and_truncating_ignoring_the_runner_or_floats_fail(strict, setup, capsys):
    receive = run_solution("08_deploying_ex1", **setup)["receive"]
    kwargs = dict(
        receiver=setup["receiver"], run_decoder=setup["runners"]["TFLite float32"], files=files_of(setup)
    )
    check.receiver_program(receive, **kwargs)
    assert "✓ Exercise 08_deploying_ex1" in capsys.readouterr().out

    def truncating(cae_bytes, receiver, run_decoder):
        _, latents = codec.decompress_latents(cae_bytes, receiver)
        return (run_decoder(latents)[..., 0] * 255).astype(np.uint8)

    def keras_decoder(cae_bytes, receiver, run_decoder):
        return codec.decompress(cae_bytes, receiver)

    def floats(cae_bytes, receiver, run_decoder):
        return run_decoder(codec.decompress_latents(cae_bytes, receiver)[1])[..., 0]

    with pytest.raises(exercises.ExerciseFailed, match="round, do not truncate"):
        check.receiver_program(truncating, **kwargs)
    with pytest.raises(exercises.ExerciseFailed, match="never called run_decoder"):
        check.receiver_program(keras_decoder, **kwargs)
    with pytest.raises(exercises.ExerciseFailed, match=r"are float32 in \[0, 1\], not uint8 pixels"):
        check.receiver_program(floats, **kwargs)

    def calls_but_ignores_the_runner(cae_bytes, receiver, run_decoder):  # the learner review's: passed
        _, latents = codec.decompress_latents(cae_bytes, receiver)
        run_decoder(latents[:1])
        return codec.decompress(cae_bytes, receiver)

    with pytest.raises(exercises.ExerciseFailed, match="codec.decompress's, not run_decoder's"):
        check.receiver_program(calls_but_ignores_the_runner, **kwargs)

    def squeezed(cae_bytes, receiver, run_decoder):  # the second review: right on many digits, not on one
        _, latents = codec.decompress_latents(cae_bytes, receiver)
        return data.to_uint8(np.squeeze(run_decoder(latents)))

    with pytest.raises(exercises.ExerciseFailed, match=r"file 3 \(1 digits.* have shape \(28, 28\)"):
        check.receiver_program(squeezed, **kwargs)


def test_ex1_a_channel_axis_pixels_in_0_1_or_latents_scaled_twice_fail(strict, setup, trained):
    kwargs = dict(
        receiver=setup["receiver"], run_decoder=setup["runners"]["TFLite float32"], files=files_of(setup)
    )

    def with_channel(cae_bytes, receiver, run_decoder):
        pixels = run_decoder(codec.decompress_latents(cae_bytes, receiver)[1])
        return np.clip(np.round(pixels * 255), 0, 255).astype(np.uint8)  # (n, 28, 28, 1)

    def no_255(cae_bytes, receiver, run_decoder):
        return np.round(run_decoder(codec.decompress_latents(cae_bytes, receiver)[1])[..., 0]).astype(
            np.uint8
        )

    # takes the latents for symbols and multiplies them by the step once more
    def step_again(cae_bytes, receiver, run_decoder):
        header, latents = codec.decompress_latents(cae_bytes, receiver)
        return data.to_uint8(run_decoder(latents * header.step))

    rejects(
        check.receiver_program,
        with_channel,
        match=r"have shape \(10, 28, 28, 1\): drop the channel axis",
        **kwargs,
    )
    rejects(check.receiver_program, no_255, match="only 0 or 1: .*multiply by 255", **kwargs)
    rejects(check.receiver_program, step_again, match=r"file 2 .*grey levels.*at step 2: .*as they are",
            receiver=trained["receiver"], run_decoder=trained["run_decoder"],
            files=[codec.compress(trained["digits"][:10], trained["sender"], step=step) for step in (1.0, 2.0)])  # fmt: skip


def test_ex1_an_unfilled_stub_falls_back_to_the_library(setup, capsys):
    def receive(cae_bytes, receiver, run_decoder):
        """The stub."""

    kwargs = dict(
        receiver=setup["receiver"], run_decoder=setup["runners"]["TFLite float32"], files=files_of(setup)
    )
    assert check.receiver_program(receive, **kwargs) is check.receive_reference
    assert "○ Exercise 08_deploying_ex1" in capsys.readouterr().out


def test_ex2_solution_passes_and_a_flipped_sign_or_the_float_digits_fail(strict, setup, capsys):
    # The tiny model's 8-bit decoder costs almost nothing (too little to tell a sign); a decoder with pixels
    # rounded to eighths stands in for it, a clearly worse decoder of the same shape.
    lite = setup["runners"]["TFLite float32"]

    def coarse(latents):
        return np.round(lite(latents) * 8) / 8

    ns = run_solution(
        "08_deploying_ex2",
        **{**setup, "runners": {"TFLite 8-bit weights": coarse}},
        receive=check.receive_reference,
    )
    kwargs = dict(sender=setup["sender"], receiver=setup["receiver"], run_int8=coarse)
    check.int8_cost(ns["cost"], ns["digits"], int8_digits=ns["int8_digits"], **kwargs)
    assert "✓ Exercise 08_deploying_ex2" in capsys.readouterr().out
    assert ns["cost"] > 0.02  # well beyond the check's 0.002 dB tolerance
    with pytest.raises(exercises.ExerciseFailed, match="the sign is the wrong way round"):
        check.int8_cost(-ns["cost"], ns["digits"], int8_digits=ns["int8_digits"], **kwargs)
    between = metrics.mean_psnr(ns["float_digits"], ns["int8_digits"], data_range=255)
    with pytest.raises(exercises.ExerciseFailed, match="PSNR between the two decoders' digits"):
        check.int8_cost(between, ns["digits"], int8_digits=ns["int8_digits"], **kwargs)
    with pytest.raises(exercises.ExerciseFailed, match="the float decoder's digits"):
        check.int8_cost(0.0, ns["digits"], int8_digits=ns["float_digits"], **kwargs)


def test_ex2_another_step_a_ratio_or_one_psnr_fail(strict, trained):
    def coarse(latents):  # a clearly worse decoder of the same shape stands in for the 8-bit one
        return np.round(trained["run_decoder"](latents) * 8) / 8

    sender, receiver, digits = trained["sender"], trained["receiver"], trained["digits"]
    kwargs = dict(sender=sender, receiver=receiver, run_int8=coarse)
    blob = codec.compress(digits, sender, step=1.0)
    int8_digits = check.receive_reference(blob, receiver, coarse)
    float_psnr = metrics.mean_psnr(digits, codec.decompress(blob, receiver), data_range=255)
    int8_psnr = metrics.mean_psnr(digits, int8_digits, data_range=255)
    # the right answer passes
    check.int8_cost(float_psnr - int8_psnr, digits, int8_digits=int8_digits, **kwargs)
    at_half = check.receive_reference(codec.compress(digits, sender, step=0.5), receiver, coarse)
    rejects(check.int8_cost, float_psnr - int8_psnr, digits, int8_digits=at_half,
            match="grey levels .*with the sender at step 1", **kwargs)  # fmt: skip
    rejects(check.int8_cost, float_psnr / int8_psnr, digits, int8_digits=int8_digits,
            match="a ratio of the two PSNRs.*subtract", **kwargs)  # fmt: skip
    rejects(check.int8_cost, int8_psnr, digits, int8_digits=int8_digits, match="one decoder's PSNR", **kwargs)


def test_ex2_solution_passes_with_the_real_8_bit_decoder(strict, setup, capsys):
    ns = run_solution("08_deploying_ex2", **setup, receive=check.receive_reference)
    run_int8 = setup["runners"]["TFLite 8-bit weights"]
    check.int8_cost(ns["cost"], ns["digits"], int8_digits=ns["int8_digits"], sender=setup["sender"],
                    receiver=setup["receiver"], run_int8=run_int8)  # fmt: skip
    assert "✓ Exercise 08_deploying_ex2" in capsys.readouterr().out


def test_ex3_solution_passes_and_seconds_or_the_whole_batch_fail(strict, setup, capsys):
    ns = run_solution("08_deploying_ex3", **setup)
    kwargs = dict(sender=setup["sender"], digits=setup["x_test"][:1000])
    check.compress_latency(ns["ms_per_digit"], **kwargs)
    assert "✓ Exercise 08_deploying_ex3" in capsys.readouterr().out
    check.compress_latency(
        ns["one_ms"], batch_ms=ns["batch_ms"], **kwargs
    )  # two numbers: checked by value only
    assert "✓ Exercise 08_deploying_ex3" in capsys.readouterr().out
    with pytest.raises(exercises.ExerciseFailed, match="looks like seconds"):
        check.compress_latency(ns["one_ms"] / 1e3, batch_ms=ns["batch_ms"], **kwargs)
    with pytest.raises(exercises.ExerciseFailed, match="divide by 1000 for the cost per digit"):
        check.compress_latency(ns["one_ms"], batch_ms=ns["batch_ms"] * 1000, **kwargs)


def test_ex3_microseconds_swapped_the_batch_for_both_or_batch_seconds_fail(strict, setup):
    kwargs = dict(sender=setup["sender"], digits=setup["x_test"][:1000])
    ns = run_solution("08_deploying_ex3", **setup)
    one_ms, batch_ms = ns["one_ms"], ns["batch_ms"]
    rejects(
        check.compress_latency, one_ms * 1e3, batch_ms=batch_ms, match="looks like microseconds", **kwargs
    )
    rejects(check.compress_latency, batch_ms, batch_ms=one_ms, match="look swapped", **kwargs)
    rejects(check.compress_latency, batch_ms, batch_ms=batch_ms, match=r"x_test\[:1\]", **kwargs)
    rejects(
        check.compress_latency,
        one_ms,
        batch_ms=batch_ms / 1e3,
        match="batch_ms .* looks like seconds",
        **kwargs,
    )


def test_ex3_a_function_must_time_codec_compress_of_its_own_argument(strict, setup):
    """The learner review: guessed numbers and timing another call passed within the factor of 10."""
    from cae_lib import codec, deploy, models

    sender, x_test = setup["sender"], setup["x_test"]
    kwargs = dict(sender=sender, digits=x_test[:1000])
    encoder = models.encoder_of(sender)

    def guessed(images):
        return 10.0 if len(images) == 1 else 0.1

    def encoder_only(images):
        return (
            1e3
            * deploy.seconds_per_call(lambda x: encoder.predict(x, verbose=0), images, repeats=3)
            / len(images)
        )

    def always_the_first_digit(images):
        return 1e3 * deploy.seconds_per_call(lambda x: codec.compress(x, sender), x_test[:1], repeats=3)

    def whole_call(images):
        return 1e3 * deploy.seconds_per_call(lambda x: codec.compress(x, sender), images, repeats=2)

    rejects(check.compress_latency, guessed, match="never called codec.compress", **kwargs)
    rejects(check.compress_latency, encoder_only, match="never called codec.compress", **kwargs)
    rejects(
        check.compress_latency,
        always_the_first_digit,
        match=r"compressed other digits .*\(1000, 28, 28\)",
        **kwargs,
    )
    rejects(check.compress_latency, whole_call, match="divide by 1000 for the cost per digit", **kwargs)

    def round_trip(images):  # the second review: compress and decompress timed together passed
        return (
            1e3
            * deploy.seconds_per_call(
                lambda x: codec.decompress(codec.compress(x, sender), setup["receiver"]), images, repeats=2
            )
            / len(images)
        )

    def float_channels(images):
        floats = images[..., None].astype(np.float32) / 255
        return (
            1e3
            * deploy.seconds_per_call(lambda x: codec.compress(x, sender), floats, repeats=2)
            / len(images)
        )

    def per_pixel(images):
        return (
            1e3
            * deploy.seconds_per_call(lambda x: codec.compress(x, sender), images, repeats=2)
            / images.size
        )

    def own_sender(images):  # a right answer: the sender rebuilt inside the function is the same model
        same = codec.sender_of(setup["model"])
        return (
            1e3 * deploy.seconds_per_call(lambda x: codec.compress(x, same), images, repeats=3) / len(images)
        )

    rejects(check.compress_latency, round_trip, match=r"also called codec.decompress", **kwargs)
    rejects(check.compress_latency, float_channels, match=r"converted the digits \(to float32", **kwargs)
    rejects(check.compress_latency, per_pixel, match=r"per pixel: divide by the number of digits", **kwargs)
    check.compress_latency(own_sender, **kwargs)


def test_ex4_solution_passes_and_8_bit_weights_or_the_decoder_fail(strict, setup, capsys):
    ns = run_solution("08_deploying_ex4", **setup)
    kwargs = dict(model=setup["model"], digits=setup["x_test"][:100])
    check.tflite_encoder(ns["run_encoder"], **kwargs)
    assert "✓ Exercise 08_deploying_ex4" in capsys.readouterr().out
    eight_bit = deploy.TFLiteRunner(
        deploy.export_tflite(setup["workdir"] / "encoder_savedmodel", optimize=True)
    )
    with pytest.raises(
        exercises.ExerciseFailed, match="the latents differ from the Keras encoder's by up to"
    ):
        check.tflite_encoder(eight_bit, **kwargs)
    with pytest.raises(exercises.ExerciseFailed, match="export models.encoder_of"):
        check.tflite_encoder(setup["runners"]["TFLite float32"], **kwargs)


def test_ex4_the_keras_encoder_another_model_or_the_whole_autoencoder_fail(
    strict, setup, other_tiny_codec_model
):
    kwargs = dict(model=setup["model"], digits=setup["x_test"][:100])
    rejects(check.tflite_encoder, models.encoder_of(setup["model"]), match="a Keras model: the device has no Keras",
            **kwargs)  # fmt: skip
    other = models.encoder_of(other_tiny_codec_model)
    rejects(check.tflite_encoder, lambda x: np.asarray(other(x)), match="not a deploy.TFLiteRunner",
            **kwargs)  # fmt: skip
    whole = setup["model"]
    rejects(check.tflite_encoder, lambda x: np.asarray(whole(x)), match="not a deploy.TFLiteRunner",
            **kwargs)  # fmt: skip
    # The learner review: any Python wrapper around Keras passed as a TFLite encoder
    mine = models.encoder_of(setup["model"])
    for wrapper in (
        lambda x: np.asarray(mine(x)),
        mine.predict,
        lambda x: codec.encode_latents(x, setup["model"]),
    ):
        rejects(check.tflite_encoder, wrapper, match="not a deploy.TFLiteRunner", **kwargs)
