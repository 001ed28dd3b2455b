"""Course-wide switches read from environment variables.

``CAE_DATA_DIR``
    Folder holding the MNIST IDX files (or a folder with an ``mnist/``
    sub-folder, such as ``../shared/data``). Unset: Keras downloads MNIST.
``CAE_QUICK``
    ``1`` (or ``true``/``yes``/``on``) shrinks every training run in the course
    to a small subset and few epochs, so that continuous integration can
    execute all notebooks in minutes. The figures are then rough; full mode
    (unset or ``0``) reproduces the numbers the notebooks state.
``CAE_PROGRESS``
    ``epoch``: training prints one line per epoch instead of Keras' live
    progress bar, for runs no live front end watches (``make site`` sets it;
    see :mod:`cae_lib.training`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LATENT_DIM = 28
"""Latent size of the course's default model and shipped codec."""

DATA_DIR_ENV = "CAE_DATA_DIR"
QUICK_ENV = "CAE_QUICK"
QUICK_VALUES = ("1", "true", "yes", "on")

PROGRESS_ENV = "CAE_PROGRESS"
PROGRESS_MODES = ("bar", "epoch")


def progress_mode() -> str:
    """``"bar"`` (Keras' live progress bar) or ``"epoch"`` (one line per epoch), from ``CAE_PROGRESS``.

    Raises:
        ValueError: If the variable holds something else.

    Example:
        >>> progress_mode() in PROGRESS_MODES
        True
    """
    raw = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if raw in ("", "bar"):
        return "bar"
    if raw == "epoch":
        return "epoch"
    raise ValueError(f"{PROGRESS_ENV} must be 'bar' or 'epoch'. Received: {PROGRESS_ENV}={raw!r}")


_TRUE = set(QUICK_VALUES)
_FALSE = {"", "0", "false", "no", "off"}


def quick_mode() -> bool:
    """Return True when the ``CAE_QUICK`` environment variable asks for quick mode.

    Raises:
        ValueError: If the variable holds something other than a yes/no value.
    """
    raw = os.environ.get(QUICK_ENV, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"{QUICK_ENV} must be 1/0 (or true/false, yes/no, on/off). Received: {QUICK_ENV}={raw!r}"
    )


def data_dir_from_env() -> Path | None:
    """Return the folder named by ``CAE_DATA_DIR``, or None if it is unset or empty."""
    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(raw).expanduser() if raw else None


@dataclass(frozen=True)
class TrainingBudget:
    """How much data and how many epochs a training run may use.

    Attributes:
        train_size: Number of training images to use (None: all of them).
        epochs: Number of epochs.
        quick: Whether the budget is the quick-mode one (``CAE_QUICK=1``).
    """

    train_size: int | None
    epochs: int
    quick: bool

    def describe(self, full_size: int) -> str:
        """One line for the learner: the mode, the images used out of ``full_size``, the epochs.

        Example:
            >>> from cae_lib.config import TrainingBudget
            >>> TrainingBudget(train_size=None, epochs=30, quick=False).describe(60_000)
            'full mode: 60,000 training images, 30 epoch(s)'
        """
        n = full_size if self.train_size is None else min(self.train_size, full_size)
        mode = "quick mode (CAE_QUICK=1)" if self.quick else "full mode"
        return f"{mode}: {n:,} training images, {self.epochs} epoch(s)"


QUICK_TRAIN_SIZE = 2048
QUICK_EPOCHS = 1


def training_budget(epochs: int, *, train_size: int | None = None, quick: bool | None = None):
    """Return the training budget for a run that would use ``epochs`` in full mode.

    In quick mode the run is capped at ``QUICK_TRAIN_SIZE`` images and
    ``QUICK_EPOCHS`` epoch(s).

    Args:
        epochs: Epochs in full mode.
        train_size: Training images in full mode (None: all).
        quick: Force quick (True) or full (False) mode; None reads ``CAE_QUICK``.

    Returns:
        A :class:`TrainingBudget`.

    Example:
        >>> from cae_lib.config import training_budget
        >>> training_budget(30, quick=False)
        TrainingBudget(train_size=None, epochs=30, quick=False)
        >>> budget = training_budget(30, quick=True)
        >>> budget
        TrainingBudget(train_size=2048, epochs=1, quick=True)
        >>> budget.describe(60_000)
        'quick mode (CAE_QUICK=1): 2,048 training images, 1 epoch(s)'
    """
    if quick is None:
        quick = quick_mode()
    if quick:
        size = QUICK_TRAIN_SIZE if train_size is None else min(train_size, QUICK_TRAIN_SIZE)
        return TrainingBudget(train_size=size, epochs=min(epochs, QUICK_EPOCHS), quick=True)
    return TrainingBudget(train_size=train_size, epochs=epochs, quick=False)


REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
"""The checkout ``cae_lib`` runs from, when it is one (an editable install); see :func:`repository_text`."""


def repository_url() -> str | None:
    """The course repository's URL from the installed package's metadata (``[project.urls] Repository``)."""
    from importlib import metadata

    try:
        urls = metadata.metadata("cae-lib").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    found = [url.split(",", 1)[1].strip() for url in urls if url.lower().startswith("repository,")]
    return found[0] if found else None


def repository_text(relative_path: str, *, timeout: float = 10.0) -> str | None:
    """A text file of the course repository, e.g. a benchmark's results, wherever the course runs.

    From the checkout ``cae_lib`` runs from when there is one (a clone,
    Binder, the site build); else, as on Colab where the course is installed
    from git without the rest of the repository, downloaded from the
    repository named in the package's metadata (GitHub's raw files of the
    ``main`` branch). None when neither works (offline, not published).

    Example:
        >>> "rate term" in repository_text("benchmarks/results/rate_ablation.md")
        True
    """
    local = REPOSITORY_ROOT / relative_path
    if (REPOSITORY_ROOT / "pyproject.toml").is_file() and local.is_file():
        return local.read_text(encoding="utf-8")
    url = repository_url()
    if not url or not url.startswith("https://github.com/"):
        return None
    import urllib.request

    raw = url.replace("https://github.com/", "https://raw.githubusercontent.com/", 1).rstrip("/")
    try:
        with urllib.request.urlopen(f"{raw}/main/{relative_path}", timeout=timeout) as response:
            return response.read(1_000_000).decode("utf-8")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
