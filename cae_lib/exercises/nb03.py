"""Checks for notebook 03 · Encoding.

Each check takes the learner's answer (plus what it needs from the
notebook) and says precisely what is wrong; see :mod:`cae_lib.exercises`.
"""

from __future__ import annotations

import numpy as np

from . import NotAnswered, Wrong, answered, call, exercise, keep_model

LATENT_DIM = 28
WEIGHTED = ("conv1", "conv2", "conv3", "dense1", "latent")
"""The reference encoder's layers with weights, in order (their names let the shipped weights load)."""
BETWEEN = {
    "conv2": "a ReLU after conv1 (its layer 'relu')",
    "dense1": "a Flatten (7 x 7 x 16 -> 784)",
}
"""What the reference has between a weighted layer and the one before it."""
ACTIVATION = {"conv1": None, "conv2": "relu", "conv3": "relu", "dense1": "relu", "latent": None}
"""The activation inside each weighted layer of the reference."""
RELU_FOLLOWS = {"conv1"}
"""Layers followed by a ReLU in the reference: a ReLU inside them changes nothing."""
LAYER_KINDS = {"InputLayer", "Conv2D", "ReLU", "Activation", "Flatten", "Reshape", "Dense"}
"""The kinds of layer the reference encoder is made of; anything else (Dropout, noise, normalisation) is extra."""
FOREIGN_HINTS = {
    **dict.fromkeys(("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout"),
                    "it acts only while training, so the latents match here, yet the exercise is the course's encoder "
                    "exactly: take it out"),
    **dict.fromkeys(("MaxPooling2D", "AveragePooling2D"),
                    "the reference halves the grid with strides=2 in conv1 and conv2, not with pooling"),
    **dict.fromkeys(("GlobalAveragePooling2D", "GlobalMaxPooling2D"),
                    "pooling over the whole grid throws the positions away; the reference keeps them with a Flatten"),
    **dict.fromkeys(("LeakyReLU", "PReLU", "ELU"), "the reference uses a plain ReLU (layers.ReLU)"),
    **dict.fromkeys(("Rescaling", "Normalization"),
                    "the digits come in already scaled to [0, 1] (data.to_float); the encoder does not rescale them"),
    **dict.fromkeys(("BatchNormalization", "LayerNormalization"), "the reference has no normalisation layer"),
}  # fmt: skip
"""What to say about a layer the reference encoder does not have, by its kind."""
SEED_FIGURES = (8.9e6, 68.34e3)
"""The two bare figures on the course's original slide "Encoding and Decoding the Image"."""


def _reference_encoder():
    from .. import models, pretrained

    return models.encoder_of(pretrained.load_pretrained(LATENT_DIM))


def _library_encoder_builder():
    from .. import models

    return models.build_encoder


def _shape(tensor_or_shape) -> tuple:
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    return tuple(None if d is None else int(d) for d in shape)


def _hxw(shape: tuple) -> str:
    return " x ".join(str(d) for d in shape[1:])


def _probe(model, names):
    """A model from ``model``'s input to the input and the output of each named layer."""
    from .._tf import keras

    tensors = []
    for name in names:
        layer = model.get_layer(name)
        tensors += [layer.input, layer.output]
    return keras.Model(model.input, tensors)


def _gap(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


@exercise("03_encoding_ex1", "the encoder in Keras", fallback=_library_encoder_builder)
def encoder(build, digits) -> str:
    """Check ``build(latent_dim=28)`` against the shipped latent-28 encoder, layer by layer, on ``digits``.

    The shipped weights are loaded into the learner's layers by name, so a
    missing ReLU, a wrong stride or the wrong padding shows up as different
    numbers (or shapes) at the first layer where it happens.
    """
    from .._tf import keras

    model = answered(build(latent_dim=LATENT_DIM), "build_my_encoder returns None")
    if not isinstance(model, keras.Model):
        raise Wrong(f"build_my_encoder returned a {type(model).__name__}, not a keras.Model: "
                    "end with `return keras.Model(inputs, latent, name='encoder')`")  # fmt: skip
    reference = _reference_encoder()
    digits = np.asarray(digits, np.float32)
    if digits.max() > 1.0:
        digits = digits / np.float32(255)
    if digits.ndim == 3:
        digits = digits[..., None]

    try:
        model_input = model.input
    except (AttributeError, ValueError):
        raise Wrong("your model has no defined input (a Sequential never called, or built without keras.Input): "
                    "start with inputs = keras.Input(shape=(28, 28, 1)) and return keras.Model(inputs, latent)") from None  # fmt: skip
    if _shape(model_input) != (None, 28, 28, 1):
        raise Wrong(f"the input has shape {_shape(model.input)}; it should be (None, 28, 28, 1): "
                    "keras.Input(shape=(28, 28, 1))")  # fmt: skip
    names = [layer.name for layer in model.layers]
    missing = [name for name in WEIGHTED if name not in names]
    if missing:
        raise Wrong(f"no layer named {', '.join(missing)} (your layers: {', '.join(names)}): "
                    f"name the weighted layers {', '.join(WEIGHTED)} with name=..., so the shipped weights can load")  # fmt: skip
    extra = [layer.name for layer in model.layers if layer.weights and layer.name not in WEIGHTED]
    if extra:
        raise Wrong(f"layer(s) {', '.join(extra)} have weights the reference encoder does not have: "
                    f"its only weighted layers are {', '.join(WEIGHTED)}")  # fmt: skip
    foreign = [layer for layer in model.layers if type(layer).__name__ not in LAYER_KINDS]
    if foreign:
        kind = type(foreign[0]).__name__
        why = FOREIGN_HINTS.get(
            kind, "the reference has only Conv2D, ReLU, Flatten and Dense layers: take it out"
        )
        raise Wrong(f"layer {foreign[0].name} ({kind}) is not in the reference encoder: {why}")
    for layer in model.layers:  # options the outputs on a hundred digits may not show
        config = layer.get_config() if type(layer).__name__ == "ReLU" else {}
        options = [
            f"{key}={config[key]}" for key in ("max_value", "negative_slope", "threshold") if config.get(key)
        ]
        if options:
            raise Wrong(f"layer {layer.name} is a ReLU with {', '.join(options)}: the reference's ReLU is plain, "
                        "layers.ReLU()")  # fmt: skip
        # A missing or an extra plain ReLU is named further down, from what it does to the outputs.
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if layer.name in ACTIVATION and activation not in (None, "linear", "relu", ACTIVATION[layer.name]):
            reference_has = (
                f"applies {ACTIVATION[layer.name]!r}" if ACTIVATION[layer.name] else "has no activation there"
            )
            capped = (
                ": relu6 caps the values at 6, which these digits may not reach"
                if activation == "relu6"
                else ""
            )
            raise Wrong(f"layer {layer.name} applies {activation!r}; the reference {reference_has}{capped}")
    for name in WEIGHTED:
        layer = model.get_layer(name)
        extras = [kind for kind in ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                    "kernel_constraint", "bias_constraint") if getattr(layer, kind, None) is not None]  # fmt: skip
        if extras:
            raise Wrong(f"layer {name} has a {extras[0].replace('_', ' ')} the reference does not have: "
                        "it changes training, not these latents; leave it out")  # fmt: skip

    for name in WEIGHTED:
        mine, theirs = _shape(model.get_layer(name).output), _shape(reference.get_layer(name).output)
        if mine == theirs:
            continue
        hint = "check its number of filters / units"
        if len(mine) == 4 and len(theirs) == 4 and mine[1:3] != theirs[1:3]:
            before = _shape(model.get_layer(name).input)[1]
            if mine[1] == -(-before // 2) and theirs[1] == before:
                hint = "the reference keeps the grid here: strides=1 (the default)"
            elif mine[1] == before and theirs[1] == -(-before // 2):
                hint = "the reference halves the grid here: strides=2"
            elif mine[1] < theirs[1]:
                hint = "padding='valid' loses the border: use padding='same'"
            else:
                hint = "check the stride and padding='same'"
        raise Wrong(f"layer {name} outputs {_hxw(mine)}, the reference {_hxw(theirs)}: {hint}")

    for name in WEIGHTED:
        mine = [tuple(w.shape) for w in model.get_layer(name).get_weights()]
        theirs = [tuple(w.shape) for w in reference.get_layer(name).get_weights()]
        if mine != theirs:
            if mine[:1] == theirs[:1] and len(mine) < len(theirs):
                hint = "a bias too (use_bias=True, the default)"
            elif len(theirs[0]) == 4:
                hint = "a 3 x 3 kernel (kernel_size=3)"
            else:
                hint = f"{theirs[0][1]} units" if mine[0][0] == theirs[0][0] else "a bias (use_bias=True)"
            raise Wrong(f"layer {name} has weights of shapes {mine}, the reference {theirs}: it uses {hint}")
        model.get_layer(name).set_weights(reference.get_layer(name).get_weights())

    if _shape(model.output) != _shape(reference.output):
        raise Wrong(f"the model outputs {_shape(model.output)}, the reference {_shape(reference.output)}: "
                    "end with the layer named latent")  # fmt: skip

    other = answered(build(latent_dim=8), "build_my_encoder(latent_dim=8) returns None")
    if isinstance(other, keras.Model) and _shape(other.output) != (None, 8):
        raise Wrong(f"build_my_encoder(latent_dim=8) outputs {_shape(other.output)}, not (None, 8): "
                    "use the argument latent_dim for the latent layer's units, not a fixed number")  # fmt: skip

    got = _probe(model, WEIGHTED).predict(digits, verbose=0)
    want = _probe(reference, WEIGHTED).predict(digits, verbose=0)
    previous = None
    for k, name in enumerate(WEIGHTED):
        in_mine, out_mine, in_ref, out_ref = got[2 * k], got[2 * k + 1], want[2 * k], want[2 * k + 1]
        scale = 1e-3 * (1.0 + float(np.abs(in_ref).max()))
        if _gap(in_mine, in_ref) > scale:
            between = BETWEEN.get(name, "nothing")
            if name in BETWEEN and "ReLU" in between and _gap(np.maximum(in_mine, 0), in_ref) <= scale:
                raise Wrong(f"nothing applies a ReLU between {previous} and {name}: the reference has {between} "
                            f"(what reaches {name} differs by up to {_gap(in_mine, in_ref):.3g} on these digits)")  # fmt: skip
            raise Wrong(f"what reaches {name} differs from the reference by up to {_gap(in_mine, in_ref):.3g} "
                        f"on these digits: between {previous} and {name} the reference has {between}")  # fmt: skip
        scale = 1e-3 * (1.0 + float(np.abs(out_ref).max()))
        if _gap(out_mine, out_ref) > scale:
            if name in RELU_FOLLOWS and _gap(out_mine, np.maximum(out_ref, 0)) <= scale:
                pass  # a ReLU inside conv1 and the ReLU after it: the same network
            elif ACTIVATION[name] == "relu" and _gap(np.maximum(out_mine, 0), out_ref) <= scale:
                raise Wrong(f"layer {name} has no activation: the reference applies ReLU after {name} "
                            f"(outputs differ by up to {_gap(out_mine, out_ref):.3g} on these digits): "
                            "add activation='relu'")  # fmt: skip
            elif ACTIVATION[name] is None and _gap(out_mine, np.maximum(out_ref, 0)) <= scale:
                raise Wrong(f"layer {name} applies a ReLU the reference does not have "
                            f"(outputs differ by up to {_gap(out_mine, out_ref):.3g}): "
                            + ("the latent must be free to go negative: no activation" if name == "latent"
                               else "leave its activation out"))  # fmt: skip
            else:
                raise Wrong(f"layer {name} gets the same input and weights as the reference but its output differs "
                            f"by up to {_gap(out_mine, out_ref):.3g}: check its activation (the reference: "
                            f"{ACTIVATION[name] or 'none'})")  # fmt: skip
        previous = name

    mine, theirs = model.predict(digits, verbose=0), reference.predict(digits, verbose=0)
    if _gap(mine, theirs) > 1e-3 * (1.0 + float(np.abs(theirs).max())):
        raise Wrong(f"every layer matches, yet the latents differ by up to {_gap(mine, theirs):.3g}: "
                    "the model's output must be the latent layer's output")  # fmt: skip
    return (f"with the shipped weights loaded, your encoder gives the reference latents on {len(digits)} digits "
            f"(largest difference {_gap(mine, theirs):.1g}); {model.count_params():,} parameters")  # fmt: skip


@exercise("03_encoding_ex2", "output size with same padding")
def output_size(function) -> str:
    """Check ``function(n, stride)`` against Keras' Conv2D with padding='same' for every n in 1..30, stride 1..3."""
    if function(28, 2) is None:
        raise NotAnswered("output_size", returned_none=True)
    from .._tf import keras

    for stride in (1, 2, 3):
        for n in (28, 14, 7, *range(1, 31)):
            layer = keras.layers.Conv2D(1, 3, strides=stride, padding="same")
            keras_n = int(layer.compute_output_shape((None, n, n, 1))[1])
            mine = function(n, stride)
            if isinstance(mine, bool) or not isinstance(mine, (int, np.integer)):
                raise Wrong(f"output_size({n}, {stride}) = {mine!r}, a {type(mine).__name__}, not an int: "
                            "a grid size is a whole number; compute it in integers, -(-n // s), "
                            "or wrap it: int(math.ceil(n / s))")  # fmt: skip
            if mine != keras_n:
                if mine == n // stride:
                    hint = "same padding rounds up: ceil(n / s), which is -(-n // s) in integers"
                elif mine == n // stride + 1:
                    hint = "n // s + 1 adds a row even when s divides n: ceil(n / s) is -(-n // s)"
                elif stride > 1 and mine == n:
                    hint = "the stride is ignored: each step of s pixels gives one output, ceil(n / s)"
                else:
                    hint = "with padding='same' the kernel size does not matter: ceil(n / s)"
                raise Wrong(f"output_size({n}, {stride}) = {mine!r}, Keras gives {keras_n}: {hint}")
    return (
        "ceil(n / s) for n = 1..30 and strides 1..3, as Keras computes it; 28 -> 14 -> 7 -> 7 in our encoder"
    )


def _centroid_pair(latents, labels, *, centre=np.mean, distance=None) -> tuple[int, int]:
    """The two classes whose centres are nearest: Euclidean distance between class means by default."""
    latents, labels = np.asarray(latents, np.float64), np.asarray(labels)
    classes = np.unique(labels)
    centres = np.stack([centre(latents[labels == c], axis=0) for c in classes])
    if distance is None:
        gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    else:
        gaps = np.array([[distance(a, b) for b in centres] for a in centres])
    np.fill_diagonal(gaps, np.inf)
    i, j = np.unravel_index(int(np.argmin(gaps)), gaps.shape)
    return tuple(sorted((int(classes[i]), int(classes[j]))))


def _cosine(a, b) -> float:
    return 1 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _nearest_members(latents, labels) -> tuple[int, int]:
    """The two classes with the closest pair of single points (not of centroids)."""
    classes = np.unique(labels)
    best, pair = np.inf, (0, 1)
    for a in range(len(classes)):
        for b in range(a + 1, len(classes)):
            x, y = latents[labels == classes[a]], latents[labels == classes[b]]
            gap = float(np.min(np.linalg.norm(x[:, None] - y[None], axis=2)))
            if gap < best:
                best, pair = gap, (int(classes[a]), int(classes[b]))
    return pair


_SHORTCUTS = {
    "cosine": (lambda z, y: _centroid_pair(z, y, distance=_cosine),
               "it picks the pair whose centroids point the same way (cosine); the exercise asks for the "
               "Euclidean distance between centroids, np.linalg.norm(a - b)"),
    "L1": (lambda z, y: _centroid_pair(z, y, distance=lambda a, b: float(np.abs(a - b).sum())),
           "it measures distance as a sum of absolute differences (L1); the exercise asks for the Euclidean "
           "distance, np.linalg.norm(a - b)"),
    "medians": (lambda z, y: _centroid_pair(z, y, centre=np.median),
                "it compares class medians; a centroid is the mean latent of the class, latents[labels == c].mean(axis=0)"),
    "standardised": (lambda z, y: _centroid_pair((z - z.mean(axis=0)) / z.std(axis=0), y),
                     "it rescales each latent dimension (standardises it) first; the exercise measures the latents as "
                     "they are, where a dimension with a wide spread counts for more"),
    "nearest members": (_nearest_members,
                        "it finds the two closest single digits; the exercise compares whole classes by their "
                        "centroids (mean latents)"),
}  # fmt: skip
"""Plausible shortcuts, each with its own answer on some latents: (function, what it does instead)."""


def _trial_sets(count: int = 200):
    """Small clustered latent sets on which each shortcut of :data:`_SHORTCUTS` disagrees with the right pair, and
    each two shortcuts disagree with each other somewhere (so a wrong function's answers name its shortcut)."""
    names = list(_SHORTCUTS)
    wanted = {(name, "right") for name in names} | {
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :]
    }
    found = {}
    for seed in range(count):
        rng = np.random.default_rng(seed)
        centres = rng.normal(0, 1, (10, 6)) * rng.uniform(0.3, 2.0, (10, 1))
        spread = rng.uniform(0.05, 1.5, (10, 1, 6))
        latents = (centres[:, None] + spread * rng.standard_t(3, (10, 25, 6))).reshape(-1, 6)
        latents *= rng.uniform(0.2, 5.0, 6)  # dimensions of different spreads, as a real latent's are
        labels = np.repeat(np.arange(10), 25)
        order = rng.permutation(len(labels))  # classes not in blocks: selecting by position fails
        latents, labels = latents[order], labels[order]
        answers = {"right": _centroid_pair(latents, labels)}
        answers.update({name: tuple(sorted(f(latents, labels))) for name, (f, _) in _SHORTCUTS.items()})
        separated = {pair for pair in wanted if answers[pair[0]] != answers[pair[1]]}
        if separated:
            found[seed] = (latents, labels, answers["right"])
            wanted -= separated
        if not wanted:
            break
    return found


def _pair_of(value, what: str) -> tuple[int, int]:
    """Two different whole class labels from the learner's answer, or :class:`Wrong`."""
    if isinstance(value, (str, bytes, dict)):
        raise Wrong(
            f"{what}: give two class labels as a pair of numbers, e.g. (3, 5); got the {type(value).__name__} {value!r}"
        )
    try:
        values = [float(v) for v in value]
        a, b = (int(v) for v in values)
    except (TypeError, ValueError):
        raise Wrong(f"{what}: give two class labels, e.g. (3, 5); got {value!r}") from None
    if any(v != int(v) for v in values):
        raise Wrong(f"{what}: give two class labels (whole numbers), e.g. (3, 5); got {value!r}: the row and column "
                    "of the smallest distance (np.unravel_index), not a distance")  # fmt: skip
    return a, b


@exercise("03_encoding_ex4", "closest pair of classes in latent space")
def closest_classes(answer, latents, labels) -> str:
    """Check ``closest_pair(latents, labels)``: the two distinct classes whose mean latents are nearest.

    A function is run on the notebook's latents, then on small made-up latent
    sets where the plausible shortcuts (cosine or L1 distance, medians, the
    closest single digits, the notebook's own variables) give another pair.
    A pair given directly is checked on the notebook's latents only.
    """
    function = answer if callable(answer) else None
    pair = call(function, latents, labels, what="the test latents and labels") if function else answer
    a, b = _pair_of(pair, "closest_pair(latents, y_test)" if function else "closest_pair")
    latents, labels = np.asarray(latents, np.float64), np.asarray(labels)
    classes = np.unique(labels)
    if a == b:
        raise Wrong(f"({a}, {b}) is one class twice: a centroid is at distance 0 from itself; "
                    "leave the diagonal out of the search (e.g. add np.inf on it)")  # fmt: skip
    if a not in classes or b not in classes:
        raise Wrong(f"the classes are {classes.tolist()}; got ({a}, {b})")
    centroids = {c: latents[labels == c].mean(axis=0) for c in classes}
    best = _centroid_pair(latents, labels)
    distance = float(np.linalg.norm(centroids[a] - centroids[b]))
    closest = float(np.linalg.norm(centroids[best[0]] - centroids[best[1]]))
    if distance > closest + 1e-9:
        farthest = max(
            float(np.linalg.norm(centroids[c] - centroids[d])) for c in classes for d in classes if c < d
        )
        hint = ("that is the *farthest* pair: take the smallest distance (argmin), not the largest"
                if distance >= farthest - 1e-9
                else "compare the class means of the latents (not of the pixels) for every pair")  # fmt: skip
        raise Wrong(f"the centroids of {a} and {b} are {distance:.2f} apart, but another pair is closer "
                    f"({closest:.2f}): {hint}")  # fmt: skip
    tried = 0
    if function:
        trials = list(_trial_sets().values())
        answers = [tuple(sorted(_pair_of(call(function, z.copy(), y.copy(), what="made-up latents"),
                                         "on made-up latents, closest_pair"))) for z, y, _ in trials]  # fmt: skip
        tried = len(trials)
        wrong = [(got, right) for got, (_, _, right) in zip(answers, trials) if got != right]
        if wrong:
            got, right = wrong[0]
            if all(g == tuple(sorted((a, b))) for g in answers):
                hint = ("it gives the notebook's answer whatever it is given: use its arguments, latents and "
                        "labels, not the notebook's variables")  # fmt: skip
            else:
                hint = next((h for f, h in _SHORTCUTS.values()
                             if all(tuple(sorted(f(z, y))) == g for g, (z, y, _) in zip(answers, trials))),
                            "compute each class's mean latent, then the Euclidean distance of every pair")  # fmt: skip
            raise Wrong(f"right on the test latents, but on made-up latents of 10 classes your function gives "
                        f"{got}, the nearest centroids are {right}: {hint}")  # fmt: skip
    also = f"; also right on {tried} made-up latent sets where shortcuts differ" if tried else ""
    return (f"classes {best[0]} and {best[1]}: their mean latents are {closest:.2f} apart, the closest of the "
            f"{len(classes) * (len(classes) - 1) // 2} pairs{also}")  # fmt: skip


def _pca_psnrs(x_train, x_test, ks):
    """Mean test PSNR of PCA with ``k`` components for each k, computed as :func:`models.build_pca_autoencoder` does."""
    from .. import metrics

    flat = np.asarray(x_train, np.float32).reshape(len(x_train), -1)
    mean = flat.mean(axis=0, dtype=np.float64)
    covariance = (flat.T @ flat).astype(np.float64) / len(flat) - np.outer(mean, mean)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    test = np.asarray(x_test, np.float32).reshape(len(x_test), -1)
    out = {}
    for k in ks:
        v = eigenvectors[:, order[:k]].astype(np.float32)
        recon = np.clip((test - mean.astype(np.float32)) @ v @ v.T + mean.astype(np.float32), 0.0, 1.0)
        out[k] = metrics.mean_psnr(test, recon, data_range=1.0)
    return out


@exercise("03_encoding_ex5", "PCA components to match the autoencoder")
def pca_components(k, x_train, x_test, target) -> str:
    """Check that ``k`` is the smallest number of PCA components reaching ``target`` dB on ``x_test``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise Wrong(f"give a number of components (a positive int); got {k!r}")
    k = int(k)
    psnr = _pca_psnrs(x_train, x_test, [k - 1, k] if k > 1 else [k])
    if psnr[k] < target:
        raise Wrong(f"PCA with {k} components reaches {psnr[k]:.2f} dB, short of the autoencoder's {target:.2f} dB: "
                    "it needs more")  # fmt: skip
    if k > 1 and psnr[k - 1] >= target:
        raise Wrong(f"{k - 1} components already reach {psnr[k - 1]:.2f} dB >= {target:.2f} dB: "
                    "the question asks for the smallest number (try every k, not a coarse grid)")  # fmt: skip
    return f"{k} components: {psnr[k - 1]:.2f} dB with {k - 1}, {psnr[k]:.2f} dB with {k} (target {target:.2f} dB)"


def slide_models(latent_dim: int = LATENT_DIM):
    """The slide's model written the obvious way (the naive model), as ``(encoder, decoder)``: :func:`cae_lib.models.build_naive_seed`."""
    from ..models import build_naive_seed

    return build_naive_seed(latent_dim)


def _layer_counts(model) -> list[int]:
    return [int(layer.count_params()) for layer in model.layers if layer.count_params()]


@exercise("03_encoding_ex3", "the slide model's parameters")
def slide_counts(counts) -> str:
    """Check ``(encoder, decoder)`` parameter counts against Keras' ``count_params`` of :func:`slide_models`."""
    try:
        mine = dict(zip(("encoder", "decoder"), (answered(c) for c in counts), strict=True))
    except (TypeError, ValueError):
        raise Wrong(f"give two numbers, (encoder parameters, decoder parameters); got {counts!r}") from None
    for part, value in mine.items():
        if isinstance(value, (str, bytes, bool)) or np.ndim(value) != 0:
            raise Wrong(f"{part}: give a number of parameters (an int); got {value!r}")
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise Wrong(f"{part}: give a number of parameters (an int); got {value!r}") from None
        if not np.isfinite(as_float) or as_float != round(as_float):
            raise Wrong(f"{part}: {value!r} is not a whole number: count every parameter exactly "
                        "(not in millions, no division)")  # fmt: skip
        mine[part] = int(as_float)
    encoder, decoder = slide_models()
    if (mine["encoder"], mine["decoder"]) == (int(decoder.count_params()), int(encoder.count_params())):
        raise Wrong("your two counts are swapped: the first is the decoder's, the second the encoder's; "
                    "give (encoder parameters, decoder parameters) in that order")  # fmt: skip
    for part, model in (("encoder", encoder), ("decoder", decoder)):
        value, keras_count = mine[part], int(model.count_params())
        if value == keras_count:
            continue
        per_layer = _layer_counts(model)
        biases = sum(int(np.prod(w.shape)) for w in model.weights if len(w.shape) == 1)
        grid_28 = 28 * 28 * 64 * 128 + (128 if part == "encoder" else 28 * 28 * 64)
        grid_7 = 7 * 7 * 64 * 128 + (128 if part == "encoder" else 7 * 7 * 64)
        if value == keras_count - biases:
            hint = "you left out the biases: one per filter of a convolution, one per unit of a dense layer"
        elif value == keras_count - grid_28 + grid_7:
            hint = "you flattened 7 x 7 x 64, but the slide model's convolutions have stride 1: the grid stays 28 x 28"
        elif part == "decoder" and value == int(encoder.count_params()):
            hint = (
                "that is the encoder's count: the decoder mirrors its layers but not its parameters (biases "
                "belong to each layer's outputs, and the first and last layers differ); count it layer by layer"
            )
        elif abs(value - keras_count) < 0.01 * keras_count:
            hint = (
                f"close (off by {value - keras_count:+,}): recount one of the small layers (a 3 x 3 kernel has "
                "9 x c_in weights per filter, plus one bias per filter)"
            )
        else:
            hint = (f"most of them sit in one dense layer ({max(per_layer):,} in Keras' count): "
                    "a dense layer has n_in x n_out weights + n_out biases")  # fmt: skip
        raise Wrong(
            f"{part}: you count {value:,}, Keras counts {keras_count:,} for the model described: {hint}"
        )
    total = encoder.count_params() + decoder.count_params()
    return (f"encoder {encoder.count_params():,} + decoder {decoder.count_params():,} = {total:,} parameters, "
            "as Keras counts them")  # fmt: skip


def keep_encoder(encoder):
    """Keep the layers of the learner's encoder for notebook 05, once Exercise 1 has passed (see ``keep_model``)."""
    return keep_model(encoder, "my_encoder", exercise_id="03_encoding_ex1", used_in="notebook 05")
