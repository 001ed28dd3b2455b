"""How the package is put together: where TensorFlow is imported, and what loads without it."""

import subprocess
import sys
import textwrap

import pytest


def run_python(code: str, **env_extra):
    import os

    env = {key: value for key, value in {**os.environ, **env_extra}.items() if value is not None}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, env=env)  # fmt: skip


def test_the_container_the_entropy_coder_and_the_cli_parser_load_no_tensorflow():
    result = run_python("""
        import sys
        import cae_lib.codec, cae_lib.codec.container, cae_lib.codec.entropy, cae_lib.codec.model_file
        from cae_lib import cli, config, data, images, imageio, pretrained
        cli.build_parser().parse_args(["info", "x.cae"])
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_models_are_pure_builders_that_import_no_codec():
    result = run_python("""
        import sys
        import cae_lib.models
        print(sorted(m for m in sys.modules if m.startswith("cae_lib.")))
    """)
    assert result.returncode == 0, result.stderr
    loaded = eval(result.stdout.strip().splitlines()[-1])
    assert "cae_lib.models" in loaded and not [m for m in loaded if m.startswith("cae_lib.codec")]


@pytest.fixture()
def fake_tensorflow(tmp_path):
    """A ``tensorflow`` package that writes C++-style chatter to file descriptor 2, then fails or not."""

    def make(fails: bool):
        folder = tmp_path / ("failing" if fails else "working")
        for name in ("tensorflow", "keras"):
            (folder / name).mkdir(parents=True)
            body = f"import os\nos.write(2, b'{name}: oneDNN chatter from C++\\n')\n"
            if fails and name == "tensorflow":
                body += "raise ImportError('libcudart.so.12: cannot open shared object file')\n"
            (folder / name / "__init__.py").write_text(body)
        return str(folder)

    return make


def test_a_successful_import_drops_tensorflows_start_up_chatter(fake_tensorflow):
    result = run_python("import cae_lib._tf as t; print(t.tf.__name__)", PYTHONPATH=fake_tensorflow(False))
    assert result.returncode == 0 and result.stdout.strip() == "tensorflow"
    assert "chatter" not in result.stderr


def test_a_failed_import_shows_what_tensorflow_printed_and_how_to_install_it(fake_tensorflow):
    result = run_python("import cae_lib.metrics", PYTHONPATH=fake_tensorflow(True))
    assert result.returncode == 1
    assert "oneDNN chatter from C++" in result.stderr  # captured, then shown
    assert (
        "cae_lib needs TensorFlow >= 2.16.1 with Keras >= 3.4.1, which failed to import (libcudart.so.12"
        in result.stderr
    )
    assert "pip install" in result.stderr


def test_tensorflow_log_level_is_set_in_one_place():
    result = run_python("""
        import os
        import cae_lib, cae_lib.data, cae_lib.codec, cae_lib.cli
        before = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
        import cae_lib._tf
        print(before, os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
    """, TF_CPP_MIN_LOG_LEVEL=None)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["None", "2"]  # set by cae_lib._tf alone, before TensorFlow loads
