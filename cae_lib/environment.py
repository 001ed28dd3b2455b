"""Where the course is running: one line of versions, and what to do when something is too old.

Every notebook's Setup cell calls :func:`report` right after installing the
course. It prints Python, TensorFlow, Keras and NumPy versions, whether
TensorFlow sees a GPU and whether quick mode is on, in one line:

    Python 3.12.1 · TensorFlow 2.19.0 · Keras 3.10.0 · NumPy 2.0.2 · GPU: none (the CPU is enough) · quick mode: off

The versions the course needs are read from the installed ``cae-lib``'s own
requirements (``pyproject.toml``: the dependencies, TensorFlow from the
``cpu`` extra, and the ``course`` extra), so they are written in one place.
Where a package is missing or older than that, or an upgrade happened after
the old version was already imported (pip cannot replace a module that is
loaded), :func:`report` says which ``%pip`` line to run and how to restart,
on Colab or elsewhere, and raises :class:`EnvironmentProblem`, which a
notebook shows as those lines, without a traceback.

The versions are read from the installed packages' metadata before
TensorFlow is imported, so a TensorFlow too old to import still gets a
clear message.
"""

from __future__ import annotations

import importlib.metadata as metadata
import platform
import sys
from dataclasses import dataclass

from . import config

DISTRIBUTION = "cae-lib"
TENSORFLOW_DISTRIBUTIONS = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-macos",
    "tensorflow-intel",
    "tf-nightly",
)
"""The names TensorFlow is installed under; the first one found is the machine's TensorFlow."""
SHOWN = (("TensorFlow", "tensorflow"), ("Keras", "keras"), ("NumPy", "numpy"))
EXTRAS = ("cpu", "course")
"""Extras whose requirements the course needs at run time: TensorFlow, and the notebooks' widgets and scikit-learn."""
FRONT_ENDS = ("jupyterlab",)
"""Requirements of the ``course`` extra that are front ends, not libraries: Colab and VS Code bring their own."""
OPTIONAL = ("anywidget",)
"""Requirements of the ``course`` extra the notebooks can do without: missing, they are no problem (notebook
07's drawing pad falls back to uploading a photo, e.g. on Colab, where the course is installed without the
extra); installed but too old, they are."""
KERNEL_SIDE = {"ipywidgets": ">=7.7"}
"""What the kernel needs where the ``course`` extra asks for more on behalf of its front end.

The extra asks for ipywidgets 8 because JupyterLab 4 draws no other; the
course's widgets themselves work from 7.7, which Colab ships and draws
(:mod:`cae_lib.widgets` says under a widget what to do where 7 is not drawn)."""
IMPORT_NAMES = {"pillow": "PIL", "scikit-learn": "sklearn"}
"""Module names that are not the package's name with ``-`` as ``_``."""


@dataclass(frozen=True)
class Problem:
    """One package that does not meet the course's needs.

    Attributes:
        package: Its name on PyPI (``tensorflow`` for any TensorFlow build).
        found: What is there: a version, ``"missing"``, or ``"2.0 loaded, 2.1 installed"``.
        needed: The requirement, e.g. ``">=3.4.1"``; empty when only a restart is needed.
        restart_only: The right version is installed, an older one is loaded: restarting is enough.
    """

    package: str
    found: str
    needed: str = ""
    restart_only: bool = False

    def pip_argument(self) -> str:
        """What to give ``pip install`` to fix it, e.g. ``'"keras>=3.4.1"'``."""
        return f'"{self.package}{self.needed}"'


class EnvironmentProblem(RuntimeError):
    """The machine lacks something the course needs; the message says what to run.

    A notebook shows the message alone, without a traceback (``_render_traceback_``).
    """

    def _render_traceback_(self):
        return [str(self)]


def requirements() -> dict[str, str]:
    """``{package: specifier}`` the course needs at run time, from the installed ``cae-lib``'s metadata.

    The dependencies, TensorFlow (from the ``cpu`` extra, under the name
    ``tensorflow`` whatever build provides it) and the libraries of the
    ``course`` extra (not JupyterLab: Colab and other front ends bring
    their own; ipywidgets from 7.7, :data:`KERNEL_SIDE`), for this platform.
    Empty when ``cae-lib`` is not installed.

    Example:
        >>> needs = requirements()
        >>> needs["tensorflow"].startswith(">="), "keras" in needs, "jupyterlab" in needs
        (True, True, False)
    """
    from packaging.requirements import Requirement

    try:
        lines = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return {}
    found = {}
    for line in lines:
        requirement = Requirement(line)
        marker = requirement.marker
        extra = next((e for e in EXTRAS if marker and marker.evaluate({"extra": e})), None)
        if marker and not marker.evaluate({"extra": ""}) and extra is None:
            continue  # another platform's line, or an extra the course does not need (gpu, test)
        if requirement.name in FRONT_ENDS:
            continue
        name = "tensorflow" if requirement.name in TENSORFLOW_DISTRIBUTIONS else requirement.name
        found[name] = KERNEL_SIDE.get(name, str(requirement.specifier))
    return found


def installed_version(package: str) -> str | None:
    """The installed version of ``package`` (``"tensorflow"``: any TensorFlow build), or None."""
    names = TENSORFLOW_DISTRIBUTIONS if package == "tensorflow" else (package,)
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def loaded_version(package: str) -> str | None:
    """The version of ``package`` already imported in this process, or None if it is not imported."""
    module = sys.modules.get(IMPORT_NAMES.get(package, package.replace("-", "_")))
    return getattr(module, "__version__", None) if module is not None else None


def problems(needs: dict[str, str] | None = None) -> list[Problem]:
    """What is missing, too old, or upgraded on disk but still loaded in its old version.

    Args:
        needs: ``{package: specifier}``; default :func:`requirements`.
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    found = []
    for package, specifier in sorted((requirements() if needs is None else needs).items()):
        version = installed_version(package)
        if version is None and package in OPTIONAL:
            continue
        if version is None:
            found.append(Problem(package, "missing", specifier))
            continue
        try:
            fits = SpecifierSet(specifier).contains(Version(version), prereleases=True)
        except InvalidVersion:
            fits = True  # a local build we cannot judge: give it the benefit of the doubt
        if not fits:
            found.append(Problem(package, version, specifier))
            continue
        loaded = loaded_version(package)
        if loaded is not None and not _same_version(loaded, version):
            found.append(Problem(package, f"{loaded} loaded, {version} installed", restart_only=True))
    return found


def _same_version(a: str, b: str) -> bool:
    """True when two version strings name the same release (``2.20.0-dev1`` and ``2.20.0.dev1`` do)."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def on_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def advice(found: list[Problem], *, colab: bool | None = None) -> str:
    """What to do about ``found``, in a few lines: the ``%pip`` line, then the restart.

    Example:
        >>> print(advice([Problem("keras", "3.3.3", ">=3.4.1")], colab=True))
        This course needs keras>=3.4.1; this machine has keras 3.3.3.
        Run this in a cell:
            %pip install -q "keras>=3.4.1"
        then Runtime > Restart session, and run the notebook again from the top.
    """
    colab = on_colab() if colab is None else colab
    restart = ("Runtime > Restart session" if colab
               else "restart the kernel (Kernel > Restart Kernel in JupyterLab)")  # fmt: skip
    upgrades = [p for p in found if not p.restart_only]
    lines = []
    if upgrades:
        lines.append("This course needs " + ", ".join(f"{p.package}{p.needed}" for p in upgrades) + "; this machine has "
                     + ", ".join(f"{p.package} {p.found}" for p in upgrades) + ".")  # fmt: skip
        lines.append("Run this in a cell:")
        lines.append("    %pip install -q " + " ".join(p.pip_argument() for p in upgrades))
        lines.append(f"then {restart}, and run the notebook again from the top.")
    else:
        lines.append("Newer versions were installed after the old ones were imported: "
                     + ", ".join(f"{p.package} {p.found}" for p in found) + ".")  # fmt: skip
        lines.append(f"{restart[0].upper()}{restart[1:]}, and run the notebook again from the top.")
    return "\n".join(lines)


def gpu_description() -> str:
    """``"GPU: 1 (NVIDIA T4)"`` or ``"GPU: none (the CPU is enough)"``, from what TensorFlow sees."""
    from ._tf import tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "GPU: none (the CPU is enough)"
    names = []
    for gpu in gpus:
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
        except (RuntimeError, ValueError):
            names.append(gpu.name)
    return f"GPU: {len(gpus)} ({', '.join(sorted(set(names)))})"


def summary(*, gpu: str | None = None) -> str:
    """The one line :func:`report` prints: Python, TensorFlow, Keras, NumPy, GPU, quick mode.

    Args:
        gpu: The GPU part; default :func:`gpu_description` (imports TensorFlow).
    """
    parts = [f"Python {platform.python_version()}"]
    parts += [f"{label} {installed_version(package) or 'missing'}" for label, package in SHOWN]
    parts.append(gpu if gpu is not None else gpu_description())
    parts.append(f"quick mode: {'on' if config.quick_mode() else 'off'}")
    return " · ".join(parts)


def report() -> None:
    """Print where the course runs (:func:`summary`); raise :class:`EnvironmentProblem` with the fix if it cannot.

    Raises:
        EnvironmentProblem: A package is missing, too old, or loaded in an
            older version than the one installed; the message holds the
            ``%pip`` line and the restart to do.
    """
    found = problems()
    gpu = None
    if any(p.package in ("tensorflow", "keras") and not p.restart_only for p in found):
        gpu = "GPU: not checked"  # TensorFlow or Keras too old to import: the advice comes first
    else:
        try:
            gpu = gpu_description()
        except ImportError as exc:  # TensorFlow is there but does not import: its message, and any fix found
            lines = [summary(gpu="GPU: not checked"), str(exc), *([advice(found)] if found else [])]
            raise EnvironmentProblem("\n".join(lines)) from None
    print(summary(gpu=gpu))
    if found:
        raise EnvironmentProblem(advice(found))
