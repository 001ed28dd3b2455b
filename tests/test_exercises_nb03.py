"""Notebook 03's checks: each solution passes, and plausible wrong answers of the right shape fail, saying why."""

import keras
import numpy as np
import pytest
from conftest import rejects, run_source

from cae_lib import exercises, models
from cae_lib.exercises import nb03

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def solution(exercise_id: str) -> str:
    return exercises.solution_path(exercise_id).read_text()


# Exercise 1: the encoder in Keras, checked with the shipped weights on real digits


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist[1][0][:64]


def test_ex1_solution_passes_and_is_returned(digits, capsys):
    build = run_source(solution("03_encoding_ex1"))["build_my_encoder"]
    assert nb03.encoder(build, digits) is build
    assert "✓ Exercise 03_encoding_ex1" in capsys.readouterr().out


def test_ex1_the_library_encoder_passes(digits, strict):
    nb03.encoder(models.build_encoder, digits)


WRONG_ENCODERS = {
    "missing ReLU in conv2": (
        'activation="relu", name="conv2"',
        'name="conv2"',
        r"layer conv2 has no activation: the reference applies ReLU after conv2 \(outputs differ by up to",
    ),
    "no ReLU after conv1": (
        'x = layers.ReLU(name="relu")(x)',
        "",
        r"nothing applies a ReLU between conv1 and conv2",
    ),
    "stride 1 in conv2": (
        'Conv2D(32, 3, strides=2, padding="same"',
        'Conv2D(32, 3, padding="same"',
        r"layer conv2 outputs 14 x 14 x 32, the reference 7 x 7 x 32: the reference halves the grid here: strides=2",
    ),
    "valid padding in conv1": (
        'Conv2D(16, 3, strides=2, padding="same", name="conv1")',
        'Conv2D(16, 3, strides=2, name="conv1")',
        r"layer conv1 outputs 13 x 13 x 16, the reference 14 x 14 x 16: padding='valid' loses the border",
    ),
    "ReLU on the latent": (
        'Dense(latent_dim, name="latent")',
        'Dense(latent_dim, activation="relu", name="latent")',
        r"layer latent applies a ReLU the reference does not have .*free to go negative",
    ),
    "5 x 5 kernel in conv3": (
        'Conv2D(16, 3, padding="same", activation="relu", name="conv3")',
        'Conv2D(16, 5, padding="same", activation="relu", name="conv3")',
        r"layer conv3 has weights of shapes .* it uses a 3 x 3 kernel",
    ),
    # The second learner review: layers that are idle at inference passed, so did a fixed latent size.
    "Dropout after dense1": (
        'x = layers.Dense(256, activation="relu", name="dense1")(x)  # 256',
        'x = layers.Dense(256, activation="relu", name="dense1")(x)\n    x = layers.Dropout(0.2)(x)',
        r"layer dropout\w* \(Dropout\) is not in the reference encoder: it acts only while training",
    ),
    "GaussianNoise after dense1": (
        'x = layers.Dense(256, activation="relu", name="dense1")(x)  # 256',
        'x = layers.Dense(256, activation="relu", name="dense1")(x)\n    x = layers.GaussianNoise(0.1)(x)',
        r"\(GaussianNoise\) is not in the reference encoder: it acts only while training",
    ),
    "an L2 regulariser on conv2": (
        'activation="relu", name="conv2"',
        'activation="relu", kernel_regularizer="l2", name="conv2"',
        r"layer conv2 has a kernel regularizer",
    ),
    "the latent size fixed at 28": (
        'Dense(latent_dim, name="latent")',
        'Dense(28, name="latent")',
        r"build_my_encoder\(latent_dim=8\) outputs \(None, 28\)",
    ),
    "conv2 without a bias": (
        'activation="relu", name="conv2"',
        'activation="relu", use_bias=False, name="conv2"',
        r"layer conv2 has weights of shapes .* it uses a bias too",
    ),
    # The second review: relu6 passed (these digits stay under 6); pooling and LeakyReLU got the Dropout message.
    "relu6 in conv2": (
        'activation="relu", name="conv2"',
        'activation="relu6", name="conv2"',
        r"layer conv2 applies 'relu6'; the reference applies 'relu': relu6 caps",
    ),
    "a capped ReLU layer": (
        'x = layers.ReLU(name="relu")(x)',
        'x = layers.ReLU(max_value=1.0, name="relu")(x)',
        r"layer relu is a ReLU with max_value=1.0",
    ),
    "max pooling instead of a stride": (
        'x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv3")(x)',
        'x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv3")(x)\n    x = layers.MaxPooling2D(1)(x)',
        r"\(MaxPooling2D\) is not in the reference encoder: the reference halves the grid with strides=2",
    ),
    "a leaky ReLU layer": (
        'x = layers.ReLU(name="relu")(x)',
        'x = layers.LeakyReLU(name="relu")(x)',
        r"\(LeakyReLU\) is not in the reference encoder: the reference uses a plain ReLU",
    ),
    "a Sequential of the layers, never called": (
        'return keras.Model(inputs, latent, name="encoder")',
        'return keras.Sequential(keras.Model(inputs, latent).layers[1:], name="encoder")',
        r"no defined input",
    ),
}


@pytest.mark.parametrize("mistake", WRONG_ENCODERS)
def test_ex1_rejects_a_plausible_wrong_encoder(mistake, digits, strict):
    old, new, message = WRONG_ENCODERS[mistake]
    source = solution("03_encoding_ex1")
    assert old in source
    build = run_source(source.replace(old, new))["build_my_encoder"]
    rejects(nb03.encoder, build, digits, match=message)


def test_ex1_a_reshape_in_place_of_flatten_is_the_same_network(digits, strict, capsys):
    source = solution("03_encoding_ex1").replace(
        'layers.Flatten(name="flatten")', 'layers.Reshape((784,), name="flatten")'
    )
    nb03.encoder(run_source(source)["build_my_encoder"], digits)
    assert "✓ Exercise 03_encoding_ex1" in capsys.readouterr().out


def test_ex1_a_relu_inside_conv1_before_the_relu_layer_is_the_same_network(digits, strict):
    source = solution("03_encoding_ex1").replace(
        'padding="same", name="conv1"', 'padding="same", activation="relu", name="conv1"'
    )
    nb03.encoder(run_source(source)["build_my_encoder"], digits)


def test_ex1_unanswered_falls_back_to_the_library_builder(digits, capsys):
    def build_my_encoder(latent_dim=28):  # the notebook's stub, shortened
        ...
        return None  # when done: return keras.Model(inputs, latent, name="encoder")

    assert nb03.encoder(build_my_encoder, digits) is models.build_encoder
    assert "○ Exercise 03_encoding_ex1" in capsys.readouterr().out

    def forgets_return(latent_dim=28):
        inputs = keras.Input(shape=(28, 28, 1))
        keras.Model(inputs, keras.layers.Flatten()(inputs))

    assert nb03.encoder(forgets_return, digits) is models.build_encoder
    assert "✗ Exercise 03_encoding_ex1" in (out := capsys.readouterr().out) and "forget `return`" in out


def test_ex1_an_exception_in_the_learners_builder_is_one_line_naming_their_line(digits, capsys):
    def build_my_encoder(latent_dim=28):
        inputs = keras.Input(shape=(28, 28, 1), name="image")
        x = keras.layers.dense(64)(inputs)  # a typo: Dense
        return keras.Model(inputs, x)

    assert nb03.encoder(build_my_encoder, digits) is models.build_encoder
    out = capsys.readouterr().out
    assert out.startswith("✗ Exercise 03_encoding_ex1") and out.count("\n") == 1, out
    assert "AttributeError" in out and "x = keras.layers.dense(64)(inputs)" in out and "layers.Dense" in out

    def two_relus(latent_dim=28):
        inputs = keras.Input(shape=(28, 28, 1), name="image")
        x = keras.layers.ReLU(name="relu")(inputs)
        x = keras.layers.ReLU(name="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(latent_dim)(keras.layers.Flatten()(x)))

    nb03.encoder(two_relus, digits)
    out = capsys.readouterr().out
    assert out.startswith("✗ Exercise 03_encoding_ex1") and "relu" in out, out


# Exercise 2: output size with same padding


def test_ex2_solution_passes(strict, capsys):
    namespace = run_source(solution("03_encoding_ex2"))
    assert namespace["sizes"] == [14, 7, 7]
    nb03.output_size(namespace["output_size"])


def test_ex2_rejects_floor_division(strict):
    rejects(
        nb03.output_size,
        lambda n, s: n // s,
        match=r"output_size\(7, 2\) = 3, Keras gives 4: same padding rounds up",
    )


def test_ex2_rejects_the_valid_padding_formula(strict):
    rejects(nb03.output_size, lambda n, s: (n - 3) // s + 1, match=r"output_size\(\d+, 1\) = .*Keras gives")


@pytest.mark.parametrize(
    ("function", "message"),
    [
        # the right values, as floats
        (lambda n, s: np.ceil(n / s), r"output_size\(28, 1\) = .*28\.0.*, a float64, not an int"),
        (lambda n, s: n / s, r"a float, not an int"),
        (lambda n, s: n // s + 1, r"output_size\(28, 1\) = 29, Keras gives 28: n // s \+ 1 adds a row"),
        (lambda n, s: n, r"output_size\(28, 2\) = 28, Keras gives 14: the stride is ignored"),
        (lambda n, s: round(n / s), r"output_size\(1, 2\) = 0, Keras gives 1: same padding rounds up"),
        # a constant: the answer for 28 and stride 2
        (lambda n, s: 14, r"output_size\(28, 1\) = 14, Keras gives 28"),
    ],
    ids=["np.ceil float", "true division", "floor plus one", "stride ignored", "round", "constant"],
)
def test_ex2_rejects_almost_right_formulas(function, message, strict):
    rejects(nb03.output_size, function, match=message)


# Exercise 4: closest classes in latent space


@pytest.fixture(scope="module")
def clustered_latents():
    """Ten classes around centres where 4 and 9 are the nearest pair, but 1 and 7 are nearest in another view."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (10, 28))
    centres[9] = centres[4] + 0.5
    labels = np.repeat(np.arange(10), 50)
    return centres[labels] + rng.normal(0, 0.1, (500, 28)), labels


def test_ex4_solution_passes(clustered_latents, strict):
    latents, labels = clustered_latents
    closest_pair = run_source(solution("03_encoding_ex4"), latents=latents, y_test=labels)["closest_pair"]
    assert sorted(closest_pair(latents, labels)) == [4, 9]
    nb03.closest_classes(closest_pair, latents, labels)
    nb03.closest_classes((4, 9), latents, labels)  # a pair given directly is checked on these latents only


def _closest_by(*, centre=np.mean, distance=lambda a, b: np.linalg.norm(a - b)):
    def closest_pair(latents, labels):
        classes = np.unique(labels)
        centres = [centre(latents[labels == c], axis=0) for c in classes]
        gaps = np.array([[distance(a, b) for b in centres] for a in centres])
        np.fill_diagonal(gaps, np.inf)
        i, j = np.unravel_index(gaps.argmin(), gaps.shape)
        return int(classes[i]), int(classes[j])

    return closest_pair


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (_closest_by(distance=lambda a, b: 1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b)), r"\(cosine\)"),
        (_closest_by(distance=lambda a, b: np.abs(a - b).sum()), r"\(L1\)"),
        (_closest_by(centre=np.median), r"compares class medians"),
        (lambda z, y: _closest_by()((z - z.mean(axis=0)) / z.std(axis=0), y), r"standardises it"),
        (lambda latents, labels: (4, 9), r"whatever it is given: use its arguments"),
    ],
    ids=["cosine", "L1", "medians", "standardised", "ignores its arguments"],
)
def test_ex4_a_shortcut_right_on_the_test_latents_is_caught_on_made_up_ones(
    clustered_latents, function, message, strict
):
    """The learner review: cosine, L1, medians and the pixel-space pair all gave 4 and 9 on MNIST, and passed."""
    rejects(nb03.closest_classes, function, *clustered_latents, match=f"right on the test latents.*{message}")


def test_ex4_rejects_a_class_paired_with_itself(clustered_latents, strict):
    rejects(
        nb03.closest_classes, (3, 3), *clustered_latents, match=r"\(3, 3\) is one class twice: .*diagonal"
    )


def test_ex4_rejects_a_pair_that_is_not_the_closest(clustered_latents, strict):
    rejects(nb03.closest_classes, (1, 7), *clustered_latents, match=r"another pair is closer")


def test_ex4_rejects_almost_right_pairs(clustered_latents, strict):
    latents, labels = clustered_latents
    centroids = np.stack([latents[labels == d].mean(axis=0) for d in range(10)])
    gaps = np.linalg.norm(centroids[:, None] - centroids[None], axis=2)
    # argmax instead of argmin: the farthest pair.
    farthest = tuple(int(v) for v in np.unravel_index(gaps.argmax(), gaps.shape))
    rejects(nb03.closest_classes, farthest, latents, labels, match=r"the \*farthest\* pair")
    # The flat index of argmin, without np.unravel_index.
    np.fill_diagonal(gaps, np.inf)
    rejects(nb03.closest_classes, int(gaps.argmin()), latents, labels, match=r"give two class labels")
    # Labels counted from 1: (4, 9) becomes (5, 10).
    rejects(nb03.closest_classes, (5, 10), latents, labels, match=r"the classes are \[0, 1, .*got \(5, 10\)")
    # The smallest distance instead of the pair.
    rejects(nb03.closest_classes, float(gaps.min()), latents, labels, match=r"give two class labels")
    # Not whole labels, which int() would truncate to the right pair.
    rejects(nb03.closest_classes, (4.5, 9), latents, labels, match=r"whole numbers")
    # Text and a dict that happen to iterate to the right labels.
    rejects(nb03.closest_classes, "49", latents, labels, match=r"a pair of numbers")
    rejects(nb03.closest_classes, {4: 0.1, 9: 0.1}, latents, labels, match=r"a pair of numbers")
    # The closest pair in pixel space (here: 1 and 7), not in latent space.
    rejects(nb03.closest_classes, (1, 7), latents, labels, match=r"latents \(not of the pixels\)")


# Exercise 5: PCA components to match the autoencoder


@pytest.fixture(scope="module")
def pca_problem(fake_digits):
    x_train = fake_digits(600, seed=3)[..., None] / np.float32(255)
    x_test = fake_digits(100, seed=4)[..., None] / np.float32(255)
    psnr = nb03._pca_psnrs(x_train, x_test, [11, 12])
    assert psnr[12] - psnr[11] > 0.01
    return x_train, x_test, psnr[12] - 0.001  # 12 components reach the target, 11 do not


def test_ex5_solution_passes(pca_problem, strict):
    from sklearn.decomposition import PCA

    x_train, x_test, target = pca_problem
    namespace = run_source(
        solution("03_encoding_ex5"),
        PCA=PCA,
        x_train_f=x_train,
        x_test_f=x_test,
        comparison={8: (0.0, target)},
    )
    assert namespace["pca_needed"] == 12
    nb03.pca_components(namespace["pca_needed"], x_train, x_test, target)


@pytest.mark.parametrize(
    ("k", "message"),
    [
        (13, r"12 components already reach .* the smallest number"),
        (11, r"PCA with 11 components reaches .* short of"),
    ],
)
def test_ex5_rejects_an_off_by_one(k, message, pca_problem, strict):
    rejects(nb03.pca_components, k, *pca_problem, match=message)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (12.0, r"a positive int\); got 12.0"),  # the right number, as a float
        (16, r"15 components already reach .* not a coarse grid"),  # a coarse grid 8, 16, 32
        (0, r"a positive int\); got 0"),  # an index into the list of k, not k
        (np.int64(8), r"PCA with 8 components reaches .* short of"),  # the autoencoder's latent size itself
    ],
    ids=["float", "coarse grid", "zero", "latent size"],
)
def test_ex5_rejects_almost_right_counts(answer, message, pca_problem, strict):
    rejects(nb03.pca_components, answer, *pca_problem, match=message)


def test_ex5_rejects_the_target_psnr_instead_of_k(pca_problem, strict):
    target = pca_problem[2]
    rejects(nb03.pca_components, target, *pca_problem, match=r"give a number of components")


# Exercise 3: the slide model's parameters


def test_ex3_solution_passes(strict):
    namespace = run_source(solution("03_encoding_ex3"))
    assert (namespace["slide_encoder"], namespace["slide_decoder"]) == (6_482_012, 6_532_097)
    nb03.slide_counts((namespace["slide_encoder"], namespace["slide_decoder"]))


SLIDE_SLIPS = {  # the solution with one slip, and what the check says
    "biases left out": (
        [
            ("(kernel * kernel * c_in + 1)", "(kernel * kernel * c_in)"),
            ("n_out * (n_in + 1)", "n_out * n_in"),
        ],
        r"you left out the biases",
    ),
    "a 7 x 7 grid": ([("flat = 28 * 28 * 64", "flat = 7 * 7 * 64")], r"the grid stays 28 x 28"),
    "a conv without input channels": (
        [("(kernel * kernel * c_in + 1)", "(kernel * kernel + 1)")],
        r"encoder: you count .* close \(off by -54,144\): recount one of the small layers \(a 3 x 3 kernel has 9 x c_in",
    ),
    # the first dense layer reading 64 maps (as if flattened to 64 values), not 28 x 28 x 64
    "a dense layer without the flatten": (
        [("flat = 28 * 28 * 64", "flat = 64")],
        r"most of them sit in one dense layer \(6,422,656",
    ),
}


@pytest.mark.parametrize("slip", SLIDE_SLIPS)
def test_ex3_rejects_a_slip_in_the_counting(slip, strict):
    replacements, message = SLIDE_SLIPS[slip]
    source = solution("03_encoding_ex3")
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    namespace = run_source(source)
    rejects(nb03.slide_counts, (namespace["slide_encoder"], namespace["slide_decoder"]), match=message)


def test_ex3_rejects_swapped_counts(strict):
    namespace = run_source(solution("03_encoding_ex3"))
    rejects(
        nb03.slide_counts,
        (namespace["slide_decoder"], namespace["slide_encoder"]),
        match=r"counts are swapped",
    )
    # The decoder taken as the encoder's mirror image, parameter for parameter (the learner review).
    rejects(
        nb03.slide_counts,
        (namespace["slide_encoder"], namespace["slide_encoder"]),
        match=r"decoder: .* that is the encoder's count",
    )


def test_ex3_rejects_counts_in_millions(strict):
    rejects(nb03.slide_counts, (6.482012, 6.532097), match=r"6.482012 is not a whole number.*not in millions")


def test_ex3_rejects_text(strict):
    rejects(nb03.slide_counts, ("6,482,012", "6,532,097"), match=r"encoder: give a number of parameters")


def test_ex3_unanswered(capsys):
    nb03.slide_counts((..., ...))
    assert "○ Exercise 03_encoding_ex3" in capsys.readouterr().out


# The architecture diagram


def test_architecture_diagram_draws_every_layer_of_the_models_it_is_given():
    import matplotlib

    matplotlib.use("Agg")
    from cae_lib import plotting

    encoder = models.build_encoder(6, filters=4, hidden_units=16)
    decoder = models.build_decoder(6, filters=4, hidden_units=16)
    fig = plotting.architecture_diagram(encoder, decoder)
    texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
    for model in (encoder, decoder):
        for layer in model.layers:
            assert layer.name in texts
    assert "→ 14×14×4" in texts and "→ 7×7×8" in texts and "+ ReLU" in texts and "Conv2DTranspose 8" in texts
    assert f"encoder: {encoder.count_params():,} parameters" in texts
    matplotlib.pyplot.close(fig)
