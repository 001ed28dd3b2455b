"""The checks' common behaviour: nothing a learner writes makes a check raise, None is told apart from a stub,
and ``%%answer`` cells that raise print one line instead of stopping Run All."""

from pathlib import Path

import numpy as np
import pytest

from cae_lib import exercises
from cae_lib._tf import keras
from cae_lib.exercises import NotAnswered, Wrong, call, exercise


@exercise("00_framework_ex1", "a function of the learner's")
def square_check(function) -> str:
    if call(function, 3, what="3") != 9:
        raise Wrong("3 squared is 9")
    return "squares"


@exercise("00_framework_ex2", "a value of the learner's", fallback=lambda: "library's")
def value_check(value) -> str:
    if exercises.answered(value, "the value") != 42:
        raise Wrong("not 42")
    return "42"


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    exercises.ANSWER_CELL_ERRORS.clear()


def printed(capsys) -> str:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, f"a check prints one line: {out!r}"
    return out


def test_a_right_answer_and_a_stub(capsys):
    def right(x):
        return x * x

    def stub(x): ...

    def docstring_only(x):
        """Square x."""

    assert square_check(right) is right and printed(capsys).startswith("✓")
    for unanswered in (stub, docstring_only, ...):
        square_check(unanswered)
        assert printed(capsys).startswith(
            "○ Exercise 00_framework_ex1 (a function of the learner's): not answered"
        )


@pytest.mark.parametrize(
    ("error", "name", "hint"),
    [
        (AttributeError("module 'keras.layers' has no attribute 'dense'"), "AttributeError", "layers.Dense"),
        (KeyError("bound"), "KeyError", "print(list(d))"),
        (ValueError("shapes (3,) and (4,) not aligned"), "ValueError", "shapes"),
        (ZeroDivisionError("division by zero"), "ZeroDivisionError", "0 here"),
        (RuntimeError("anything else"), "RuntimeError", ""),
    ],
)
def test_any_exception_from_the_learners_code_is_one_cross_line_naming_the_line(capsys, error, name, hint):
    def learners(x):
        raise error

    assert square_check(learners) is learners  # no fallback: the answer comes back
    out = printed(capsys)
    assert out.startswith(
        f"✗ Exercise 00_framework_ex1 (a function of the learner's): your code raised {name} on 3"
    )
    assert "(in learners: raise error)" in out and hint in out


def test_a_forgotten_return_is_not_a_stub(capsys):
    def forgets(x):
        y = x * x  # noqa: F841 - the slip under test

    square_check(forgets)
    assert "✗" in (out := printed(capsys)) and "your function returned None: did you forget `return`?" in out
    value_check(None)
    assert "✗" in (out := printed(capsys)) and "the answer is None" in out and "library's version" in out


def test_a_check_that_cannot_use_the_answer_says_so_and_strict_mode_raises(capsys, monkeypatch):
    value_check(object())  # `!= 42` works, so: wrong
    assert printed(capsys).startswith("✗")

    @exercise("00_framework_ex3", "a check meeting an odd answer")
    def fragile(value) -> str:
        return f"{len(value)} items"

    monkeypatch.setattr(
        exercises, "_OURS", (*exercises._OURS, Path(__file__).parent)
    )  # this file: the library
    fragile(3)
    assert "the check, on your answer, raised TypeError" in printed(capsys)
    monkeypatch.setenv(exercises.STRICT_ENV, "strict")
    with pytest.raises(exercises.ExerciseFailed, match="raised TypeError"):
        fragile(3)


def test_not_answered_keeps_its_meaning():
    assert NotAnswered("x").returned_none is False
    assert NotAnswered("x", returned_none=True).returned_none is True


def test_the_names_a_cell_defines_are_read_even_from_broken_code():
    cell = "worst, best = ..., ...  # ints\nthree = [1,\ndef f(x):\n    inner = 2\nx == 3\nn: int = 4\n"
    assert exercises._names_defined(cell) == ["worst", "best", "three", "f", "n"]


@pytest.fixture()
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    exercises._register_magic()
    yield shell
    InteractiveShell.clear_instance()  # later tests see no IPython, as before


def test_an_answer_cell_that_raises_prints_one_line_and_the_check_says_so(shell, capsys):
    result = shell.run_cell("%%answer ex2\nanswer_value = learner_typo * 2\n")
    assert result.success, "the cell itself succeeds: Run All goes on"
    out = capsys.readouterr().out
    assert out.startswith("✗ Your answer cell (ex2): your code raised NameError")
    assert "line 2 of your cell: answer_value = learner_typo * 2" in out and "Traceback" not in out
    assert shell.user_ns["answer_value"] is ...  # defined, so the check cell finds it
    value_check(shell.user_ns["answer_value"])
    assert "your answer cell raised an error" in printed(capsys)

    assert shell.run_cell("%%answer ex2\nanswer_value = 42\n").success
    capsys.readouterr()
    value_check(shell.user_ns["answer_value"])
    assert printed(capsys).startswith("✓")


def test_an_answer_cell_raises_as_usual_in_strict_mode(shell, monkeypatch):
    monkeypatch.setenv(exercises.STRICT_ENV, "strict")
    result = shell.run_cell("%%answer ex1\n1 / 0\n")
    assert isinstance(result.error_in_exec, exercises.ExerciseFailed), result
    assert "answer cell of ex1 raised" in str(result.error_in_exec)


def test_a_learners_model_is_kept_only_once_its_check_passed_and_comes_back_with_fresh_weights(
    tmp_path, monkeypatch, capsys
):
    from cae_lib import models, training
    from cae_lib.exercises import nb03, nb05

    monkeypatch.setenv(exercises.WORK_ENV, str(tmp_path))
    encoder = models.build_encoder(28)
    monkeypatch.setitem(exercises.MARKS, "03_encoding_ex1", "✗")
    assert nb03.keep_encoder(encoder) is None
    assert "has not passed" in capsys.readouterr().out
    training.set_seed(0)
    fallback = nb05.encoder_from_03()
    assert "library's version" in capsys.readouterr().out and fallback.name == "encoder"

    renamed = keras.Model(encoder.input, encoder.output, name="my_encoder")
    renamed.set_weights([np.full(w.shape, 0.5, w.dtype) for w in renamed.get_weights()])  # "trained" in 03
    monkeypatch.setitem(exercises.MARKS, "03_encoding_ex1", "✓")
    path = nb03.keep_encoder(renamed)
    assert path == tmp_path / "my_encoder.json" and sorted(p.name for p in tmp_path.iterdir()) == [
        "my_encoder.json"
    ]
    training.set_seed(0)
    kept = nb05.encoder_from_03()
    assert "Your model from notebook 03" in capsys.readouterr().out
    assert kept.name == "encoder"  # the library finds it in an autoencoder by that name
    assert [layer.name for layer in kept.layers] == [layer.name for layer in encoder.layers]
    assert [w.shape for w in kept.get_weights()] == [w.shape for w in encoder.get_weights()]
    assert not any(
        np.all(w == 0.5) for w in kept.get_weights() if w.size > 1
    )  # initialised anew, not 03's weights
    # Exercise 7 of 05: the same layers at latent 8, the learner's architecture kept
    kept8 = nb05.encoder_from_03(8)
    assert "Your model from notebook 03" in capsys.readouterr().out
    assert kept8.outputs[0].shape[-1] == 8 and kept8.name == "encoder"
    assert [layer.name for layer in kept8.layers] == [layer.name for layer in encoder.layers]
    assert (
        kept8.get_layer("dense1").get_weights()[0].shape == encoder.get_layer("dense1").get_weights()[0].shape
    )

    monkeypatch.setitem(exercises.MARKS, "03_encoding_ex1", "○")  # a later run where the answer was undone
    nb03.keep_encoder(encoder)
    assert not path.exists()  # a stale encoder is never trained by notebook 05

    path.write_text("{not json")
    assert nb05.encoder_from_03().name == "encoder"
    assert "does not load here" in capsys.readouterr().out
