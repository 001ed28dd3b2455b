"""Exercise checks that say precisely what is wrong, and solutions a learner reveals on request.

Every exercise in the notebooks has a *learner cell* (a stub to fill in,
tagged ``answer:<exercise id>`` in its metadata) followed by a *check cell*
that hands the answer to a check from this package, e.g.::

    my_encoder = check.encoder(build_my_encoder)   # check = cae_lib.exercises.nb03

A check prints one line and returns the answer:

* ``✓`` the answer is right (with what was verified);
* ``✗`` it is wrong, with what is wrong and a hint;
* ``○`` not answered yet (the stub still holds ``...`` or returns None).

Nothing raises, so "Run All" goes on past an exercise a learner has not
done; where later cells need the answer, the check returns the library's
version instead and says so. With ``CAE_EXERCISES=strict`` (the tests that
run every notebook with the solutions filled in) a wrong or missing answer
raises :class:`ExerciseFailed`.

Solutions are files in ``cae_lib/solutions/``, one per exercise, shipped
with the package; ``%load`` of :func:`solution_path` shows one in a new cell
without running it.

Example:
    >>> from cae_lib.exercises import Wrong, exercise
    >>> @exercise("00_demo_ex1", "the answer to everything")
    ... def demo(answer):
    ...     if answer != 42:
    ...         raise Wrong(f"{answer} is not it: try 6 x 7")
    ...     return "42, yes"
    >>> demo(...)  # doctest: +ELLIPSIS
    ○ Exercise 00_demo_ex1 (the answer to everything): not answered yet. Stuck? %load .../00_demo_ex1.py
    >>> demo(41)
    ✗ Exercise 00_demo_ex1 (the answer to everything): 41 is not it: try 6 x 7
    41
    >>> demo(42)
    ✓ Exercise 00_demo_ex1 (the answer to everything): 42, yes
    42
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

STRICT_ENV = "CAE_EXERCISES"
SOLUTIONS_DIR = Path(__file__).resolve().parent.parent / "solutions"
CHECKS: dict[str, object] = {}
"""Every registered check, by exercise id."""


class Wrong(Exception):
    """Raised by a check with a message that says what is wrong with the answer."""


class NotAnswered(Exception):
    """Raised by a check when the learner's stub has not been filled in."""


class ExerciseFailed(AssertionError):
    """A wrong or missing answer in strict mode (``CAE_EXERCISES=strict``)."""


def strict() -> bool:
    """True when wrong or missing answers must raise (``CAE_EXERCISES=strict``)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() == "strict"


def solution_path(exercise_id: str) -> Path:
    """The file holding one solution of an exercise, for ``%load``."""
    return SOLUTIONS_DIR / f"{exercise_id}.py"


def answered(value, what: str = "the answer"):
    """Return ``value``, or raise :class:`NotAnswered` if it is still ``...`` or None."""
    if value is ... or value is None:
        raise NotAnswered(what)
    return value


def number(value, name: str) -> float:
    """``value`` as a finite float, or :class:`Wrong` saying that ``name`` should be a number."""
    import math

    try:
        result = float(value)
    except (TypeError, ValueError):
        raise Wrong(f"{name} should be a number. Received: {value!r}") from None
    if not math.isfinite(result):
        raise Wrong(f"{name} should be a finite number. Received: {value!r}")
    return result


def call(function, *args, what: str):
    """The learner's ``function(*args)``: :class:`NotAnswered` if it returns None, :class:`Wrong` if it raises.

    ``what`` names the arguments in the message ("your function raised
    ValueError on x_test[:3]: ...").
    """
    try:
        result = function(*args)
    except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
        raise Wrong(f"your function raised {type(error).__name__} on {what}: {error}") from None
    if result is None:
        raise NotAnswered("the function")
    return result


def real_file(digits, model, step: float) -> tuple[bytes, float]:
    """``digits`` compressed into one real ``.cae`` file with ``model``: the file and the mean PSNR (dB) read back."""
    from .. import codec, metrics

    blob = codec.compress(digits, model, step=step)
    return blob, metrics.mean_psnr(digits, codec.decompress(blob, model), data_range=255)


def exercise(exercise_id: str, title: str, *, fallback=None):
    """Turn ``check(answer, ...) -> str`` into a notebook check (see the module docstring).

    Args:
        exercise_id: ``NN_notebook_exK``; the solution file has this name.
        title: A few words naming the exercise.
        fallback: A function returning the library's version of the answer,
            returned instead of a missing or wrong answer (None: return the
            answer as it is).

    Returns:
        A decorator. The decorated check raises :class:`Wrong` or
        :class:`NotAnswered`, or returns what it verified, in words.
    """

    def decorate(check):
        @functools.wraps(check)
        def run(answer=..., *args, **kwargs):
            label = f"Exercise {exercise_id} ({title})"
            try:
                if answer is ... or answer is None:
                    raise NotAnswered("the answer")
                verified = check(answer, *args, **kwargs)
            except NotAnswered:
                _report("○", label, f"not answered yet. Stuck? %load {solution_path(exercise_id)}", fallback)
                return fallback() if fallback else None
            except Wrong as wrong:
                _report("✗", label, str(wrong), fallback)
                return fallback() if fallback else answer
            print(f"✓ {label}: {verified}")
            return answer

        run.exercise_id = exercise_id
        CHECKS[exercise_id] = run
        return run

    return decorate


def _report(mark: str, label: str, message: str, fallback) -> None:
    if fallback:
        message += " (the cells below use the library's version meanwhile)"
    if strict():
        raise ExerciseFailed(f"{label}: {message}")
    print(f"{mark} {label}: {message}")
