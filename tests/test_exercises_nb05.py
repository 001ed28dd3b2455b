"""Notebook 05's checks: every solution passes, and plausible wrong answers of the right shape fail with a hint."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import rejects, run_solution

from cae_lib import codec, data, exercises, models, pretrained, training  # noqa: E402
from cae_lib._tf import keras  # noqa: E402
from cae_lib.exercises import nb05 as check  # noqa: E402

pytestmark = pytest.mark.usefixtures("strict")


# ---------------------------------------------------------------- Exercise 1: the decoder


def wrong_decoder(
    *,
    drop_relu=False,
    stride=2,
    linear_pixels=False,
    fixed_latent=False,
    dense1_bias=True,
    relu_in_deconv2=False,
):
    """The reference decoder with one plausible mistake."""

    def build(latent_dim=28):
        layers = keras.layers
        latent = keras.Input(shape=(28 if fixed_latent else latent_dim,), name="latent")
        x = layers.Dense(256, activation="relu", use_bias=dense1_bias, name="dense1")(latent)
        x = layers.Dense(7 * 7 * 16, activation="relu", name="dense2")(x)
        x = layers.Reshape((7, 7, 16), name="unflatten")(x)
        x = layers.Conv2DTranspose(32, 3, strides=stride, padding="same", activation="relu", name="deconv1")(
            x
        )
        x = layers.Conv2DTranspose(
            16, 3, strides=2, padding="same", name="deconv2", activation="relu" if relu_in_deconv2 else None
        )(x)
        x = layers.Activation("linear" if drop_relu else "relu", name="relu")(x)
        pixels = layers.Conv2D(
            1, 3, padding="same", activation=None if linear_pixels else "sigmoid", name="pixels"
        )(x)
        return keras.Model(latent, pixels, name="decoder")

    return build


def test_the_decoder_solution_reproduces_the_shipped_decoder(fake_digits, capsys):
    build = run_solution("05_decoding_ex1")["build_my_decoder"]
    assert check.decoder(build, fake_digits(20)) is build
    assert "✓ Exercise 05_decoding_ex1" in capsys.readouterr().out


def test_the_decoder_check_catches_a_missing_relu_a_wrong_stride_and_a_missing_sigmoid(fake_digits):
    digits = fake_digits(20)
    rejects(
        check.decoder,
        wrong_decoder(drop_relu=True),
        digits,
        match="relu applies 'linear', the reference 'relu'",
    )
    rejects(check.decoder, wrong_decoder(stride=1), digits, match=r"deconv1 outputs \(7, 7, 32\).*strides=2")
    rejects(
        check.decoder, wrong_decoder(linear_pixels=True), digits, match="pixels applies 'linear'.*'sigmoid'"
    )
    rejects(check.decoder, wrong_decoder(dense1_bias=False), digits, match="dense1 .* it has no bias")


def test_the_decoder_check_accepts_a_relu_inside_deconv2_before_the_relu_layer(fake_digits, strict, capsys):
    check.decoder(wrong_decoder(relu_in_deconv2=True), fake_digits(20))  # ReLU twice is ReLU once
    assert "✓ Exercise 05_decoding_ex1" in capsys.readouterr().out


def test_the_decoder_check_catches_a_decoder_that_ignores_latent_dim(fake_digits):
    rejects(
        check.decoder,
        wrong_decoder(fixed_latent=True),
        fake_digits(20),
        match=r"build_my_decoder\(8\) reads latents of shape \(None, 28\).*not a fixed 28",
    )


def test_the_decoder_check_falls_back_to_the_library_and_says_so(monkeypatch, fake_digits, capsys):
    monkeypatch.delenv(exercises.STRICT_ENV)

    def build_my_decoder(latent_dim=28):  # the notebook's stub, shortened
        ...
        pixels = None  # the output of the last layer, "pixels"
        return None if pixels is None else keras.Model(latent_dim, pixels, name="decoder")

    assert check.decoder(build_my_decoder, fake_digits(5)) is models.build_decoder
    assert "not answered yet" in capsys.readouterr().out


# ---------------------------------------------------------------- Exercise 2: a transposed convolution


def test_the_transposed_convolution_solution_equals_tensorflow(fake_digits, capsys):
    mine = run_solution("05_decoding_ex2")["conv_transpose2d"]
    check.conv_transpose(mine, fake_digits(1)[0] / 255)
    assert "✓ Exercise 05_decoding_ex2" in capsys.readouterr().out


def test_the_transposed_convolution_check_catches_a_flipped_kernel_and_a_wrong_size(fake_digits):
    right = run_solution("05_decoding_ex2")["conv_transpose2d"]
    digit = fake_digits(1)[0] / 255

    def flipped(image, kernel, stride=1):
        return right(image, kernel[::-1, ::-1], stride)

    def same_size(image, kernel, stride=1):  # n * stride a side: the 'same' crop, not the whole output
        return right(image, kernel, stride)[: image.shape[0] * stride, : image.shape[1] * stride]

    rejects(check.conv_transpose, flipped, digit, match="kernel flipped")
    rejects(check.conv_transpose, same_size, digit, match=r"should be 57x57 \(\(n - 1\) x stride \+ k")


def test_the_transposed_convolution_check_names_overwritten_unspaced_and_swapped_stamps(fake_digits):
    right = run_solution("05_decoding_ex2")["conv_transpose2d"]
    digit = fake_digits(1)[0] / 255

    def by_stamps(*, add=True, spacing=None, swap=False):
        def conv_transpose2d(image, kernel, stride=1):
            kh, kw = kernel.shape
            out = np.zeros(((image.shape[0] - 1) * stride + kh, (image.shape[1] - 1) * stride + kw))
            step = stride if spacing is None else spacing
            for i in range(image.shape[0]):
                for j in range(image.shape[1]):
                    r, c = (j, i) if swap else (i, j)  # swap: image[i, j] stamped at row j, column i
                    window = (slice(r * step, r * step + kh), slice(c * step, c * step + kw))
                    if add:
                        out[window] += image[i, j] * kernel
                    else:  # = instead of +=
                        out[window] = image[i, j] * kernel
            return out

        return conv_transpose2d

    def transposed_output(image, kernel, stride=1):
        return right(image, kernel, stride).T

    rejects(check.conv_transpose, by_stamps(add=False), digit, match=r"stamp overwrites.*\+=")
    rejects(check.conv_transpose, by_stamps(spacing=1), digit, match=r"stamps are 1 pixel apart, not 2")
    rejects(check.conv_transpose, by_stamps(swap=True), digit, match=r"rows and columns are swapped")
    rejects(check.conv_transpose, transposed_output, digit, match=r"rows and columns are swapped")


def test_the_transposed_convolution_check_names_a_transposed_kernel_and_an_integer_output(fake_digits):
    right = run_solution("05_decoding_ex2")["conv_transpose2d"]
    digit = fake_digits(1)[0] / 255

    def kernel_transposed(image, kernel, stride=1):
        return right(image, kernel.T, stride)

    def integer_output(image, kernel, stride=1):
        return right(image, kernel, stride).astype(int)

    rejects(check.conv_transpose, kernel_transposed, digit, match=r"transposed kernel \(kernel.T\)")
    rejects(check.conv_transpose, integer_output, digit, match=r"holds whole numbers")

    def half_precision(image, kernel, stride=1):
        return right(image.astype(np.float16), kernel.astype(np.float16), stride).astype(np.float16)

    rejects(check.conv_transpose, half_precision, digit, match=r"low-precision array \(float16\?\)")


# ---------------------------------------------------------------- Exercise 3: compile and fit


@pytest.fixture(scope="module")
def steps_context(fake_digits):
    x = data.to_float(fake_digits(6400, seed=3))
    return {"x_first": x, "x_val_f": data.to_float(fake_digits(300, seed=4)), "BATCH": 32}


def tiny_autoencoder():
    training.set_seed(0)
    return models.build_autoencoder(6, filters=4, hidden_units=16)


def test_the_training_step_solution_passes(steps_context, fake_digits, capsys):
    namespace = run_solution("05_decoding_ex3", my_autoencoder=tiny_autoencoder(), **steps_context)
    check.training_step(
        namespace["my_history"], namespace["my_autoencoder"], steps_context["x_val_f"], updates=200,
        held_out=data.to_float(fake_digits(300, seed=5)),
    )  # fmt: skip
    assert "✓ Exercise 05_decoding_ex3" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fit", "message"),
    [
        (dict(data="val", batch_size=32, epochs=1), "makes 200: fit on x_first"),  # the validation digits
        (dict(data="steps", batch_size=64, epochs=1), "100 updates.*batch_size=BATCH"),
        (dict(data="steps", batch_size=32, epochs=2), "it ran 2 epochs"),
    ],
    ids=["fitted on the validation digits", "another batch size", "two epochs"],
)
def test_the_training_step_check_counts_the_updates_of_one_epoch_over_x_first(steps_context, fit, message):
    x = steps_context["x_first"] if fit["data"] == "steps" else steps_context["x_val_f"]
    model = tiny_autoencoder()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    val = (steps_context["x_val_f"], steps_context["x_val_f"])
    history = model.fit(
        x, x, batch_size=fit["batch_size"], epochs=fit["epochs"], validation_data=val, verbose=0
    )
    rejects(check.training_step, history, model, steps_context["x_val_f"], updates=200, match=message)


def test_the_training_step_check_catches_wrong_targets_a_wrong_loss_and_no_validation(steps_context):
    x, x_val = steps_context["x_first"], steps_context["x_val_f"]
    model = tiny_autoencoder()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    shuffled = x[np.random.default_rng(0).permutation(len(x))]  # every digit's target is another digit
    history = model.fit(x[:3200], shuffled[:3200], batch_size=32, validation_data=(x_val, x_val), verbose=0)
    rejects(check.training_step, history, model, x_val, match="hardly follow its inputs.*fit\\(x, x\\)")

    model = tiny_autoencoder()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x[:32], x[:32], verbose=0, validation_data=(x_val[:32], x_val[:32]))
    rejects(check.training_step, history, model, x_val, match="loss 'mse'.*'binary_crossentropy'")

    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x[:32], x[:32], verbose=0)
    rejects(check.training_step, history, model, x_val, match="no validation curve")

    # The learner review: 0-255 targets blew a real run up; its NaN outputs passed ("correlation nan, PSNR inf dB")
    model = tiny_autoencoder()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    history = model.fit(x, x, batch_size=32, validation_data=(x_val, x_val), verbose=0)
    model.set_weights([w * np.nan for w in model.get_weights()])  # what the blown-up run left: NaN everywhere
    rejects(check.training_step, history, model, x_val, updates=200, match="not numbers .*training blew up")


def test_the_training_step_check_catches_logits_the_wrong_validation_digits_and_a_slow_optimizer(
    steps_context, fake_digits
):
    """The second learner review: each of these passed, or failed with a message that pointed elsewhere."""
    x, x_val = steps_context["x_first"], steps_context["x_val_f"]
    test_digits = data.to_float(fake_digits(300, seed=5))

    def fitted(loss="binary_crossentropy", optimizer=None, validation=None):
        model = tiny_autoencoder()
        model.compile(optimizer=optimizer or keras.optimizers.Adam(3e-3), loss=loss)
        val = validation if validation is not None else x_val
        return model.fit(x, x, batch_size=32, validation_data=(val, val), verbose=0), model

    history, model = fitted(loss=keras.losses.BinaryCrossentropy(from_logits=True))
    rejects(check.training_step, history, model, x_val, updates=200, match="from_logits=True.*second sigmoid")
    for validation in (x, test_digits):  # on the training digits, on the test digits
        history, model = fitted(validation=validation)
        rejects(
            check.training_step, history, model, x_val, updates=200, match="validate on the validation digits"
        )
    history, model = fitted(optimizer=keras.optimizers.SGD(learning_rate=1e-4))
    rejects(check.training_step, history, model, x_val, updates=200, match="Your optimizer is SGD .*Adam")
    history, model = fitted(optimizer=keras.optimizers.Adam(learning_rate=3e-6))  # a typo in the exponent
    rejects(
        check.training_step,
        history,
        model,
        x_val,
        updates=200,
        match=r"Your optimizer is Adam \(learning rate 3e-06\)",
    )
    history, model = fitted(loss="bce")  # Keras' alias of binary cross-entropy: a right answer
    check.training_step(history, model, x_val, updates=200)


# ---------------------------------------------------------------- Exercise 4: worst and best classes


@pytest.fixture(scope="module")
def class_context():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 600)
    psnr = rng.normal(20, 2, 600) + np.where(labels == 1, 3.0, 0.0) - np.where(labels == 8, 2.0, 0.0)
    psnr[np.flatnonzero(labels == 3)[0]] = 5.0  # the single worst digit is a 3, not an 8
    return psnr, labels


def test_the_class_solution_passes(class_context, capsys):
    psnr, labels = class_context
    per_class = [psnr[labels == d].mean() for d in range(10)]
    images = np.zeros((600, 28, 28, 1), np.float32)
    namespace = run_solution("05_decoding_ex4", per_class=per_class, psnr=psnr, y_test=labels, x_test_f=images,
                         reconstructions=images)  # fmt: skip
    check.classes((namespace["worst_class"], namespace["best_class"], namespace["worst_three"]), psnr, labels)
    assert (
        "✓ Exercise 05_decoding_ex4 (the worst and best digit classes): worst class 8"
        in capsys.readouterr().out
    )


def test_the_class_check_catches_the_worst_single_digit_swapped_classes_and_the_wrong_three(class_context):
    psnr, labels = class_context
    eights = np.flatnonzero(labels == 8)
    three = eights[np.argsort(psnr[eights])[:3]]
    rejects(check.classes, (3, 1, three), psnr, labels, match="3 is the class of the single worst digit")
    rejects(check.classes, (1, 8, three), psnr, labels, match="swapped")
    rejects(
        check.classes, (8, 1, np.argsort(psnr[eights])[:3]), psnr, labels, match="positions within the class"
    )
    # The learner review: a duplicate and a fourth index passed (only the set was compared)
    rejects(check.classes, (8, 1, [*three, three[0]]), psnr, labels, match="three different indices")
    rejects(check.classes, (8, 1, [*three, eights[-1]]), psnr, labels, match="4 values")
    # worst_three forgotten: two values (the check raised a ValueError while unpacking)
    rejects(check.classes, (8, 1), psnr, labels, match=r"give three things.*2 values")


def test_the_class_check_catches_the_three_worst_of_any_class_and_the_three_best(class_context):
    psnr, labels = class_context
    eights = np.flatnonzero(labels == 8)
    rejects(
        check.classes, (8, 1, np.argsort(psnr)[:3]), psnr, labels, match="three worst digits of any class"
    )
    best_three = eights[np.argsort(psnr[eights])[-3:]]  # the end of an upward sort
    rejects(check.classes, (8, 1, best_three), psnr, labels, match="the class's three best digits")
    rejects(
        check.classes, (8, 8, best_three), psnr, labels, match=r"class 8 has a mean PSNR .* not the highest"
    )


# ---------------------------------------------------------------- Exercise 5: the mean latent


@pytest.fixture(scope="module")
def shipped_context(mnist):
    shipped = pretrained.load_pretrained(28)
    images = data.to_float(mnist[1][0][:1000])
    latents = training.predict_in_batches(models.encoder_of(shipped), images)
    return models.encoder_of(shipped), models.decoder_of(shipped), latents, images


def test_the_mean_latent_solution_passes_and_the_claim_holds(shipped_context, capsys):
    _, decoder, latents, images = shipped_context
    namespace = run_solution(
        "05_decoding_ex5", shipped_decoder=decoder, shipped_latents=latents, x_test_f=images
    )
    check.mean_digit((namespace["mean_latent_image"], namespace["mean_image"]), decoder, latents, images)
    assert "a crisp digit-like stroke against a blur" in capsys.readouterr().out


def test_the_mean_latent_check_catches_the_latent_of_the_mean_image(shipped_context):
    encoder, decoder, latents, images = shipped_context
    mean_image = images.mean(axis=0)
    of_mean_image = np.asarray(decoder(encoder(mean_image[None])))[0]  # encode the mean image, then decode
    rejects(
        check.mean_digit,
        (of_mean_image, mean_image),
        decoder,
        latents,
        images,
        match="average the latents first",
    )
    decoded = np.asarray(decoder(latents.mean(axis=0, keepdims=True)))[0]
    rejects(
        check.mean_digit, (decoded, decoded), decoder, latents, images, match="not the pixel-wise average"
    )


def test_the_mean_latent_check_catches_the_mean_of_decoded_digits_and_a_mean_image_in_0_255(
    shipped_context, mnist
):
    _, decoder, latents, images = shipped_context
    decoded = np.asarray(decoder(latents.mean(axis=0, keepdims=True)))[0]
    mean_of_decoded = training.predict_in_batches(decoder, latents).mean(axis=0)  # decode, then average
    rejects(
        check.mean_digit, (mean_of_decoded, images.mean(axis=0)), decoder, latents, images,
        match="not the decoder's output for the mean latent vector",
    )  # fmt: skip
    in_255 = mnist[1][0][:1000].mean(axis=0)  # x_test, not x_test_f
    rejects(
        check.mean_digit, (decoded, in_255), decoder, latents, images, match=r"yours is in 0-255.*x_test_f"
    )


# ---------------------------------------------------------------- Exercise 6: interpolation within a class


@pytest.fixture(scope="module")
def path_context(fake_digits):
    model = tiny_autoencoder()
    images = data.to_float(fake_digits(40, seed=5))
    labels = np.arange(40) % 3
    return models.encoder_of(model), models.decoder_of(model), images, labels


def test_the_interpolation_solution_passes(path_context, capsys):
    encoder, decoder, images, labels = path_context
    labels = labels.copy()
    labels[labels == 2] = 0  # the solution takes the first two 2s
    labels[[5, 11]] = 2
    namespace = run_solution("05_decoding_ex6", encoder=encoder, decoder=decoder, x_test_f=images, y_test=labels,
                         weights=np.linspace(0, 1, 9))  # fmt: skip
    check.same_class_path(
        (namespace["a"], namespace["b"], namespace["frames"]), encoder, decoder, images, labels
    )
    assert "✓ Exercise 05_decoding_ex6 (interpolating within one class): two 2s" in capsys.readouterr().out


def test_the_interpolation_check_catches_a_pixel_crossfade_and_two_classes(path_context):
    encoder, decoder, images, labels = path_context
    weights = np.linspace(0, 1, 9)[:, None, None, None]
    crossfade = (1 - weights) * images[0] + weights * images[3]  # labels 0 and 0
    rejects(
        check.same_class_path,
        (0, 3, crossfade),
        encoder,
        decoder,
        images,
        labels,
        match="blend the two images",
    )
    rejects(check.same_class_path, (0, 1, crossfade), encoder, decoder, images, labels, match="same class")


def test_the_interpolation_check_catches_a_backwards_path_one_digit_twice_and_a_label_for_an_index(
    path_context,
):
    _, _, images, labels = path_context
    shipped = pretrained.load_pretrained(28)  # a trained decoder: an untrained one draws about 0.5 everywhere
    encoder, decoder = models.encoder_of(shipped), models.decoder_of(shipped)
    weights = np.linspace(0, 1, 9)[:, None]
    z = np.asarray(encoder(images[[0, 3]]))
    backwards = np.asarray(decoder(weights * z[0] + (1 - weights) * z[1]))  # from b to a
    rejects(
        check.same_class_path, (0, 3, backwards), encoder, decoder, images, labels, match="runs backwards"
    )
    rejects(
        check.same_class_path, (0, 0, backwards), encoder, decoder, images, labels, match="the same digit"
    )
    rejects(
        check.same_class_path, (0, 45, backwards), encoder, decoder, images, labels, match="index of a test"
    )


# ---------------------------------------------------------------- Exercise 7: latent 8


def test_the_latent8_solution_passes(mnist, capsys):
    (x_train, _), (x_test, _) = mnist
    namespace = run_solution("05_decoding_ex7", build_my_decoder=models.build_decoder, x_fit=x_train[:6400], check=check,
                         x_val=x_train[-200:], QUICK=True)  # fmt: skip
    check.latent8(namespace["my_codec8"], x_test[:300])
    assert "✓ Exercise 05_decoding_ex7" in capsys.readouterr().out


def test_the_latent8_check_catches_a_prior_fitted_before_training_the_wrong_size_and_the_shipped_model(
    fake_digits,
):
    digits = fake_digits(100, seed=6)
    training.set_seed(0)
    model = models.build_autoencoder(8, filters=4, hidden_units=16)
    early = codec.attach_prior(model, digits)
    training.train_autoencoder(model, digits, epochs=1, batch_size=50, quick=False, verbose=0)
    rejects(check.latent8, early, digits, match="trained after its prior was fitted")
    six = codec.attach_prior(models.build_autoencoder(6, filters=4, hidden_units=16), digits)
    rejects(check.latent8, six, digits, match="the latent has 6 numbers")
    rejects(check.latent8, pretrained.load_pretrained(8), digits, match="the shipped latent-8 model")
    rejects(check.latent8, model, digits, match="has no prior")
    # The learner review: the shipped model with a prior of its own (a new id) passed as "your own"
    reprior = codec.attach_prior(pretrained.load_pretrained(8), digits)
    rejects(check.latent8, reprior, digits, match="holds weights of the shipped latent-8 model")


def test_an_untrained_latent8_codec_is_caught(fake_digits):
    digits = fake_digits(300, seed=8)
    untrained = codec.attach_prior(models.build_autoencoder(8, filters=4, hidden_units=16), digits)
    rejects(check.latent8, untrained, digits, match="hardly follow its inputs")
