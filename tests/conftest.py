"""Shared fixtures: fake digits, a tiny codec model, and MNIST / Fashion-MNIST from the data folder.

The data fixtures never download: without ``CAE_DATA_DIR`` the tests that need
real digits are skipped, unless ``CAE_REQUIRE_DATA=1`` (set by ``.ci/run``),
where a missing data folder is a failure.
"""

import os
import tempfile

import numpy as np
import pytest

from cae_lib import config

REQUIRE_DATA_ENV = "CAE_REQUIRE_DATA"

# Notebooks keep the learner's work for later notebooks (cae_lib.exercises.work_dir): in tests, in a folder of
# this run's own (inherited by the kernels nbval and nbclient start), never in the clone or another run's.
os.environ.setdefault("CAE_WORK_DIR", tempfile.mkdtemp(prefix="cae-work-"))


def fake_digits(n: int, seed: int = 0) -> np.ndarray:
    """``n`` uint8 digits ``(n, 28, 28)``: a bright vertical stroke and a grey bar on black.

    A plain function (``from conftest import fake_digits``) for tests that need
    images but not MNIST; the ``fake_digits`` fixture hands out the same function.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        r, c = rng.integers(4, 18, 2)
        x[i, r : r + 10, c : c + 3] = 255
        x[i, r, c : c + 8] = 200
    return x


@pytest.fixture(name="fake_digits", scope="session")
def _fake_digits_fixture():
    """The :func:`fake_digits` function, for tests that prefer a fixture to an import."""
    return fake_digits


def _tiny_codec_model(seed: int):
    from cae_lib import codec, models

    ae = models.build_autoencoder(6, filters=4, hidden_units=16, seed=seed)
    return codec.attach_prior(ae, fake_digits(200, seed=2)[..., None] / np.float32(255))


@pytest.fixture(scope="session")
def tiny_codec_model():
    """A small untrained autoencoder (latent 6, seed 1) with a latent prior fitted on fake digits."""
    return _tiny_codec_model(seed=1)


@pytest.fixture(scope="session")
def other_tiny_codec_model():
    """Like :func:`tiny_codec_model` with other weights (seed 7): a different model id."""
    return _tiny_codec_model(seed=7)


@pytest.fixture(scope="session")
def tiny_codec_step(tiny_codec_model):
    """A quantisation step a few times smaller than the tiny model's latent spread: several bits per symbol."""
    from cae_lib import codec

    return float(np.median(codec.prior_of(tiny_codec_model).scale_values) / 4)


def _data_folder_or_skip(what: str) -> None:
    """Skip (or, with ``CAE_REQUIRE_DATA=1``, fail) unless ``CAE_DATA_DIR`` names a data folder."""
    if config.data_dir_from_env() is not None:
        return
    if os.environ.get(REQUIRE_DATA_ENV, "") == "1":
        pytest.fail(
            f"{what} required ({REQUIRE_DATA_ENV}=1) but {config.DATA_DIR_ENV} is not set: "
            f"point it at the folder holding the IDX files"
        )
    pytest.skip(f"no {what} data folder: set {config.DATA_DIR_ENV}")


@pytest.fixture(scope="session")
def mnist():
    """``data.load_mnist()`` from ``CAE_DATA_DIR``: ``(x_train, y_train), (x_test, y_test)`` uint8."""
    _data_folder_or_skip("MNIST")
    from cae_lib import data

    return data.load_mnist()


@pytest.fixture(scope="session")
def fashion_mnist_test():
    """``data.load_fashion_mnist_test()`` from ``CAE_DATA_DIR``: ``(x_test, y_test)`` uint8."""
    _data_folder_or_skip("Fashion-MNIST")
    from cae_lib import data

    return data.load_fashion_mnist_test()


# --------------------------------------------------------------------------- exercises


def _notebook_names() -> dict:
    """The modules the notebooks import in their Setup cells, by the names they use."""
    import gzip
    import io

    import constriction
    import matplotlib.pyplot as plt

    from cae_lib import codec, config, data, deploy, metrics, models, plotting, pretrained, training, widgets
    from cae_lib._tf import keras

    return {"np": np, "gzip": gzip, "io": io, "constriction": constriction, "plt": plt, "keras": keras,
            "codec": codec, "config": config, "data": data, "deploy": deploy, "metrics": metrics,
            "models": models, "plotting": plotting, "pretrained": pretrained, "training": training,
            "widgets": widgets}  # fmt: skip


def run_source(source: str, **names) -> dict:
    """Run a solution's source (or a wrong variant of it) as its notebook cell would; return the namespace.

    The namespace holds the notebooks' usual modules plus ``names`` (the
    notebook variables the solution uses); figures it draws are closed.
    """
    import matplotlib.pyplot as plt

    namespace = {**_notebook_names(), **names}
    exec(compile(source, "<solution>", "exec"), namespace)  # our own solution files
    plt.close("all")
    return namespace


def run_solution(exercise_id: str, **names) -> dict:
    """Run the solution file of ``exercise_id`` (see :func:`run_source`); return the namespace."""
    from cae_lib import exercises

    return run_source(exercises.solution_path(exercise_id).read_text(), **names)


def rejects(check, *args, match: str, **kwargs) -> None:
    """``check(*args, **kwargs)`` must fail in strict mode with a message matching ``match``."""
    from cae_lib import exercises

    with pytest.raises(exercises.ExerciseFailed, match=match):
        check(*args, **kwargs)


@pytest.fixture()
def strict(monkeypatch):
    """Wrong or missing answers raise ``ExerciseFailed`` (``CAE_EXERCISES=strict``), so a test can match the message."""
    from cae_lib import exercises

    monkeypatch.setenv(exercises.STRICT_ENV, "strict")


# --------------------------------------------------------------------------- notebooks run once


def _site_built_from_these_notebooks() -> bool:
    """True when ``site/`` was built from exactly these notebooks, library, builder and settings."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("build_site", root / "scripts" / "build_site.py")
    if spec is None or not (root / "site" / "index.html").is_file():
        return False
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    info = builder.SITE / builder.BUILD_INFO
    if not info.is_file():
        return False
    # The settings as nbval's kernels get them (kernel_env would turn an unset CAE_QUICK into quick mode).
    env = {**os.environ, builder.PROGRESS_ENV: "epoch"}
    wanted = builder.inputs_digest(builder.course_notebooks(builder.NOTEBOOKS), env)
    return json.loads(info.read_text()).get("digest") == wanted


def pytest_collection_modifyitems(config, items):
    """nbval's run of the notebooks is skipped where ``make site`` has just run the same ones.

    ``make test`` builds the site first: ``scripts/build_site.py`` executes
    every notebook in a fresh kernel, in the same mode, and stops at the first
    cell that raises, which is the check ``--nbval-lax`` makes. When the site's
    record holds the digest of these very notebooks, library, builder,
    settings (quick mode included) and installed packages, running them again
    would only double CI's longest step. Without such a site (``pytest``
    alone, another mode, anything changed since) nbval runs them.
    """
    cells = [item for item in items if type(item).__name__ == "IPyNbCell"]
    if cells and _site_built_from_these_notebooks():
        reason = "executed without error by make site from these very notebooks, library and settings (site/)"
        for item in cells:
            item.add_marker(pytest.mark.skip(reason=reason))
