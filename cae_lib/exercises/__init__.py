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
done or got wrong; where later cells need the answer, the check returns the
library's version instead and says so. An exception from the learner's code
becomes a ``✗`` line naming it and the learner's line; a learner cell starts
with ``%%answer exK`` (:func:`run_answer_cell`), so an exception raised in
the cell itself is one ``✗`` line too, not a stopped Run All. With ``CAE_EXERCISES=strict`` (the tests that
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
WORK_ENV = "CAE_WORK_DIR"
"""Where a notebook keeps the learner's work for a later one (default: ``my_work`` in the notebook's folder)."""
SOLUTIONS_DIR = Path(__file__).resolve().parent.parent / "solutions"
CHECKS: dict[str, object] = {}
"""Every registered check, by exercise id."""
MARKS: dict[str, str] = {}
"""The mark of each check's last run in this session (``✓``, ``✗`` or ``○``), by exercise id."""


class Wrong(Exception):
    """Raised by a check with a message that says what is wrong with the answer."""


class NotAnswered(Exception):
    """Raised by a check when the learner's stub has not been filled in.

    ``returned_none`` says the answer (or what the learner's function gave
    back) was None rather than ``...``: a stub that still holds a bare ``...``
    is not answered yet, anything else forgot its ``return`` (``✗``).
    """

    def __init__(self, what: str = "the answer", *, returned_none: bool = False):
        super().__init__(what)
        self.returned_none = returned_none


class ExerciseFailed(AssertionError):
    """A wrong or missing answer in strict mode (``CAE_EXERCISES=strict``)."""


def strict() -> bool:
    """True when wrong or missing answers must raise (``CAE_EXERCISES=strict``)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() == "strict"


def solution_path(exercise_id: str) -> Path:
    """The file holding one solution of an exercise, for ``%load``."""
    return SOLUTIONS_DIR / f"{exercise_id}.py"


def answered(value, what: str = "the answer"):
    """Return ``value``, or raise :class:`NotAnswered` if it is still ``...`` (or None: see :class:`NotAnswered`)."""
    if value is ...:
        raise NotAnswered(what)
    if value is None:
        raise NotAnswered(what, returned_none=True)
    return value


def number(value, name: str) -> float:
    """``value`` as a finite float, or :class:`Wrong` saying that ``name`` should be a number."""
    import math

    if isinstance(value, (str, bytes)):
        raise Wrong(
            f"{name} should be a number, not the text {value!r}: return the value itself, not a formatted string"
        )
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise Wrong(f"{name} should be a number. Received: {value!r}") from None
    if not math.isfinite(result):
        raise Wrong(f"{name} should be a finite number. Received: {value!r}")
    return result


def call(function, *args, what: str):
    """The learner's ``function(*args)``; :class:`NotAnswered` if it returns None.

    An exception from the learner's code is left to the check's wrapper, which
    turns it into a ``✗`` line naming the learner's line (see :func:`exercise`);
    ``what`` names the arguments in that message ("on x_test[:3]").
    """
    try:
        result = function(*args)
    except (Wrong, NotAnswered):
        raise
    except Exception as error:
        try:
            error.cae_on = getattr(error, "cae_on", what)
        except AttributeError:  # an exception class with __slots__
            pass
        raise
    if result is None:
        raise NotAnswered("the function", returned_none=True)
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
        :class:`NotAnswered`, or returns what it verified, in words; any
        other exception (from the learner's code, or the check meeting an
        answer it cannot use) becomes a ``✗`` line too.
    """

    def decorate(check):
        @functools.wraps(check)
        def run(answer=..., *args, **kwargs):
            label = f"Exercise {exercise_id} ({title})"
            failed_cell = ANSWER_CELL_ERRORS.get(exercise_id.rsplit("_", 1)[-1])
            try:
                if failed_cell:
                    raise Wrong(
                        "your answer cell raised an error (the ✗ line under it says which): "
                        "fix it and run it again, then this cell"
                    )
                if answer is ...:
                    raise NotAnswered("the answer")
                if answer is None:
                    raise NotAnswered("the answer", returned_none=True)
                verified = check(answer, *args, **kwargs)
            except NotAnswered as missing:
                MARKS[exercise_id] = "✗"
                forgot = missing.returned_none and not _holds_a_stub(answer)
                if not forgot:
                    MARKS[exercise_id] = "○"
                    _report(
                        "○", label, f"not answered yet. Stuck? %load {solution_path(exercise_id)}", fallback
                    )
                    return fallback() if fallback else None
                if _learner_functions(answer):
                    message = "your function returned None: did you forget `return`?"
                else:
                    message = (
                        f"{missing} is None: a value is missing, or a function you called has no `return`"
                    )
                _report("✗", label, message, fallback)
                return fallback() if fallback else answer
            except Wrong as wrong:
                MARKS[exercise_id] = "✗"
                _report("✗", label, str(wrong), fallback)
                return fallback() if fallback else answer
            except ExerciseFailed:
                raise
            except Exception as error:
                MARKS[exercise_id] = "✗"
                _report("✗", label, describe_error(error), fallback)
                return fallback() if fallback else answer
            MARKS[exercise_id] = "✓"
            print(f"✓ {label}: {verified}")
            return answer

        run.exercise_id = exercise_id
        CHECKS[exercise_id] = run
        return run

    return decorate


# -- the learner's models, kept from one notebook for the next -----------------------------------------------------


def work_dir() -> Path:
    """The folder where notebooks keep the learner's work: ``$CAE_WORK_DIR``, or ``my_work`` here."""
    return Path(os.environ.get(WORK_ENV, "").strip() or "my_work")


def keep_model(model, name: str, *, exercise_id: str, used_in: str) -> Path | None:
    """Keep the layers of a learner's model (its architecture, not its weights) for a later notebook.

    Only an answer whose check passed in this session is kept; otherwise an
    earlier file of that name is removed, so a later notebook never trains a
    model the checks did not accept. The file is JSON written under a
    temporary name and renamed into place: never half written.

    Args:
        model: The learner's ``keras.Model``.
        name: File name without suffix, e.g. ``"my_encoder"``.
        exercise_id: The exercise whose check must have passed.
        used_in: Which notebook will use it, for the printed line.

    Returns:
        The path written, or None when nothing was kept.
    """
    import tempfile

    path = work_dir() / f"{name}.json"
    if MARKS.get(exercise_id) != "✓":
        path.unlink(missing_ok=True)
        print(
            f"Not kept: exercise {exercise_id} has not passed its check, so {used_in} will use the library's version."
        )
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(model.to_json())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    print(f"Kept your model's layers in {path}: {used_in} trains them.")
    return path


def kept_model(
    name: str, *, fallback, made_in: str, model_name: str | None = None, units: dict | None = None
):
    """A learner's model kept by :func:`keep_model`, with fresh weights; else ``fallback()`` and one line saying why.

    The weights are initialised anew (seeded by :func:`cae_lib.training.set_seed`
    called before), so a run does not depend on when the earlier notebook ran.

    Args:
        name: File name without suffix, as given to :func:`keep_model`.
        fallback: A function returning the library's model.
        made_in: The notebook that keeps it, for the printed line.
        model_name: The name the model gets (e.g. ``"encoder"``, which the
            library looks for in an autoencoder), whatever it was called.
        units: New sizes of named Dense layers, e.g. ``{"latent": 8}``: the
            same architecture at another latent size.
    """
    import json

    from .._tf import keras

    path = work_dir() / f"{name}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        print(f"Using the library's version: {path} is not here ({made_in} keeps it once its exercise passes; "
              "on Colab each notebook runs on a machine of its own).")  # fmt: skip
        return fallback()
    except OSError as error:
        print(f"Using the library's version: {path} cannot be read ({error.strerror or error}).")
        return fallback()
    try:
        if model_name or units:
            described = json.loads(text)
            if model_name:
                described["config"]["name"] = model_name
            for layer in described["config"].get("layers", []):
                if layer.get("config", {}).get("name") in (units or {}):
                    layer["config"]["units"] = int(units[layer["config"]["name"]])
            text = json.dumps(described)
        model = keras.models.model_from_json(text)
    except Exception as error:  # written by another Keras, or edited: the library's model instead
        print(f"Using the library's version: {path} does not load here ({type(error).__name__}: {error}).")
        return fallback()
    print(f"Your model from {made_in} ({path}), with fresh weights.")
    return model


def _report(mark: str, label: str, message: str, fallback) -> None:
    if fallback:
        message += " (the cells below use the library's version meanwhile)"
    if strict():
        raise ExerciseFailed(f"{label}: {message}")
    print(f"{mark} {label}: {message}")


# -- a learner's exception, in one line ----------------------------------------------------------------------------

HINTS = {
    "AttributeError": "a name spelled differently? Keras layers are capitalised (layers.Dense, not layers.dense); "
    "dir(object) lists what it has",
    "NameError": "a name not defined yet: run the cells above this one first, or check its spelling",
    "KeyError": "that key is not in the dictionary: print(list(d)) shows the keys it has",
    "IndexError": "an index past the end: print the shape (or len) of what you index",
    "TypeError": "check the arguments' number and types against the function's docstring (help(f))",
    "ValueError": "often a shape or a value out of range: print the shapes of what goes in",
    "ZeroDivisionError": "a division by zero: which count or size can be 0 here?",
    "SyntaxError": "a typo in the code: look at the line shown, and at brackets left open on the line above",
}
_OURS = (Path(__file__).resolve().parent.parent,)


def _is_learner_frame(filename: str) -> bool:
    """True for code typed in a notebook (IPython's cell files), not the library's, Python's or a package's."""
    import sysconfig

    if filename.startswith("<ipython-input") or "ipykernel_" in filename or filename.startswith("<cell"):
        return True
    if filename.startswith("<"):
        return False
    path = Path(filename).resolve()
    library_dirs = {
        Path(p).resolve() for k, p in sysconfig.get_paths().items() if k in ("stdlib", "purelib", "platlib")
    }
    return (
        not any(d == path or d in path.parents for d in (*library_dirs, *_OURS))
        and "site-packages" not in path.parts
    )


def describe_error(error: BaseException, *, line_offset: int = 0) -> str:
    """One line for a learner's exception: its type and message, the learner's line that raised it, a hint.

    Args:
        error: The exception, with its traceback.
        line_offset: Added to the line number of an error raised at the top
            level of a cell (1 when the cell's first line is ``%%answer``).

    Returns:
        E.g. ``"your code raised AttributeError: module 'keras.layers' has no
        attribute 'dense' (in build_my_encoder: x = layers.dense(64)(x)).
        Hint: a name spelled differently? ..."``
    """
    import traceback

    where = ""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_learner_frame(f.filename)]
    if isinstance(error, SyntaxError) and error.lineno:
        where = f" (line {error.lineno + line_offset} of your cell: {(error.text or '').strip()})"
    elif frames:
        frame = frames[-1]
        code = f": {frame.line.strip()}" if frame.line else ""
        if frame.name == "<module>" or frame.name.startswith(
            "<cell line"
        ):  # a cell's top level (IPython 8.x)
            where = f" (line {frame.lineno + line_offset} of your cell{code})"
        else:
            where = f" (in {frame.name}{code})"
    on = getattr(error, "cae_on", None)
    text = error.msg if isinstance(error, SyntaxError) and error.msg else str(error)
    message = text.strip().splitlines()[0] if text.strip() else ""
    if len(message) > 300:
        message = message[:300] + " ..."
    who = "your code" if frames or isinstance(error, SyntaxError) else "the check, on your answer,"
    text = (
        f"{who} raised {type(error).__name__}"
        + (f" on {on}" if on else "")
        + (f": {message}" if message else "")
    )
    hint = HINTS.get(type(error).__name__)
    return text + where + (f". Hint: {hint}" if hint else "")


# -- None: not answered yet, or a forgotten return? ----------------------------------------------------------------


def _learner_functions(answer) -> list:
    """The plain Python functions in an answer (itself, or the items of a tuple answer)."""
    import types

    items = answer if isinstance(answer, tuple) else (answer,)
    return [item for item in items if isinstance(item, types.FunctionType)]


def _holds_a_stub(answer) -> bool:
    """True if the answer is (or holds) a function whose body still has a bare ``...`` line, or a value ``...``.

    A function whose source cannot be read counts as a stub: "not answered
    yet" is the gentler message of the two.
    """
    import ast
    import inspect
    import textwrap

    items = answer if isinstance(answer, tuple) else (answer,)
    if any(item is ... for item in items):
        return True
    functions = _learner_functions(answer)
    if not functions:
        return False
    for function in functions:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError, SyntaxError):
            return True
        for node in ast.walk(tree):
            if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                    and node.value.value is Ellipsis):  # fmt: skip
                return True
        definition = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))), None)
        body = definition.body if isinstance(definition, ast.FunctionDef) else []
        if body and all(  # only a docstring and `pass`
            isinstance(n, ast.Pass) or (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
            for n in body
        ):
            return True
    return False


# -- %%answer: a learner's cell that raises does not stop Run All ------------------------------------------------

ANSWER_CELL_ERRORS: dict[str, str] = {}
"""What the latest run of each ``%%answer exK`` cell raised, in words, by ``exK`` (absent: it ran through)."""


def run_answer_cell(line: str, cell: str) -> None:
    """The ``%%answer exK`` cell magic: run the cell; an exception prints one ``✗`` line instead of stopping Run All.

    The check below the cell then says the cell failed. In strict mode
    (``CAE_EXERCISES=strict``) the exception is raised as usual. The whole
    traceback stays one ``%tb`` away.
    """
    import sys

    from IPython import get_ipython

    shell = get_ipython()
    key = line.strip() or "this exercise"
    ANSWER_CELL_ERRORS.pop(key, None)
    if strict():
        result = shell.run_cell(cell, store_history=False)
        if not result.success:
            raise ExerciseFailed(
                f"the answer cell of {key} raised: {result.error_before_exec or result.error_in_exec!r}"
            )
        return
    caught = []

    def one_line(shell, etype, value, tb, tb_offset=None):
        sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
        caught.append(value)

    saved = shell.custom_exceptions, shell.CustomTB
    shell.set_custom_exc((Exception,), one_line)
    try:
        result = shell.run_cell(cell, store_history=False)
    finally:
        shell.custom_exceptions, shell.CustomTB = saved
    error = caught[0] if caught else (result.error_before_exec or result.error_in_exec)
    if isinstance(error, KeyboardInterrupt):
        raise error
    if error is not None:
        described = describe_error(error, line_offset=1)
        ANSWER_CELL_ERRORS[key] = described
        for name in _names_defined(
            cell
        ):  # so that the check cell below finds them and answers ✗, not NameError
            shell.user_ns.setdefault(name, ...)
        print(f"✗ Your answer cell ({key}): {described}. Run All goes on; %tb shows the whole traceback.")


def _names_defined(cell: str) -> list[str]:
    """The names a cell assigns or defines at its top level (``a, b = ...``, ``def f``), read even from broken code."""
    import re

    names = []
    for line in cell.splitlines():
        if line[:1].isspace():
            continue
        if match := re.match(r"(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", line):
            names.append(match.group(1))
        elif match := re.match(
            r"\(?\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*,?\s*\)?\s*(?::[^=]*)?=(?!=)", line
        ):
            names += [name.strip() for name in match.group(1).split(",")]
    return names


def _register_magic() -> None:
    """Register ``%%answer`` when running under IPython (imported from a notebook)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and "answer" not in shell.magics_manager.magics.get("cell", {}):
        shell.register_magic_function(run_answer_cell, magic_kind="cell", magic_name="answer")


_register_magic()
