"""What installing cae-lib brings: TensorFlow only through its extras, and a clear error without it.

The install tests ask pip what it *would* install (``pip install --dry-run
--report``) into a fresh, empty virtual environment, with ``pip --python
ENV/bin/python`` letting this environment's pip plan for that one. They run
offline, in a few seconds, and download nothing:

* cae-lib itself is a stub wheel whose ``METADATA`` is the real one: the
  build backend (setuptools, ``prepare_metadata_for_build_wheel``) makes it
  from a copy of ``pyproject.toml``, so the dependencies and extras pip reads
  are those a real ``pip install`` would read;
* every requirement it names (keras, numpy, tensorflow-cpu, ...) is an empty
  stub wheel at the lowest version the requirement allows, offered with
  ``--no-index --find-links`` (``--isolated`` ignores pip's configuration);
* "a machine that already has TensorFlow" is a hand-written
  ``tensorflow-2.17.0.dist-info`` in the environment's site-packages.

So the resolver and the markers are pip's own, on this platform, and the
project metadata is the build backend's. What the stubs cannot show is a
real dependency of keras & co. pulling TensorFlow in (none does: Keras 3
leaves the backend to the user, LiteRT runs without TensorFlow); that would
need the package index, and these tests should not depend on the network.
"""

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
TENSORFLOW_DISTRIBUTIONS = {"tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"}


def _pip_version() -> Version:
    import pip

    return Version(pip.__version__)


# --------------------------------------------------------------------------- stub packages


def _wheel(folder: Path, name: str, version: str, metadata: str | None = None) -> Path:
    """An installable wheel of ``name`` holding nothing but its metadata (``metadata``: a whole METADATA file)."""
    dist = f"{name.replace('-', '_')}-{version}"
    metadata = metadata or f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files = {
        f"{dist}.dist-info/METADATA": metadata,
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}.dist-info/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{dist}.dist-info/RECORD"])
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


def _lowest_allowed(requirement: Requirement) -> str:
    """The lowest version ``requirement`` accepts among its own bounds (``>=2.16`` -> 2.16)."""
    bounds = [spec.version for spec in requirement.specifier if spec.operator in (">=", "==", "~=")]
    version = bounds[0] if bounds else "1.0"
    assert requirement.specifier.contains(version), f"pick a stub version for {requirement}"
    return version


def _project_metadata(tmp_path: Path) -> str:
    """cae-lib's METADATA as its build backend writes it, from a copy of pyproject.toml."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("no setuptools, the build backend (the 'test' extra installs it)")
    project = tmp_path / "project"
    (project / "cae_lib").mkdir(parents=True)
    (project / "cae_lib" / "__init__.py").write_text("")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    (tmp_path / "meta").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
         "print(b.prepare_metadata_for_build_wheel(sys.argv[1]))", str(tmp_path / "meta")],
        cwd=project, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return (tmp_path / "meta" / result.stdout.strip().splitlines()[-1] / "METADATA").read_text()


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    """A folder of wheels: cae-lib (real metadata) and a stub for everything its dependencies and extras name."""
    tmp_path = tmp_path_factory.mktemp("index")
    metadata = _project_metadata(tmp_path)
    folder = tmp_path / "wheels"
    folder.mkdir()
    version = next(line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Version:"))
    _wheel(folder, "cae-lib", version, metadata)
    wanted = {}
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:"):
            requirement = Requirement(line.split(":", 1)[1])
            wanted.setdefault(requirement.name, set()).add(_lowest_allowed(requirement))
    for name, versions in wanted.items():
        for stub_version in versions:
            if name == "tensorflow":  # its "and-cuda" extra brings the CUDA libraries, one stub for them all
                _wheel(folder, name, stub_version, f"Metadata-Version: 2.1\nName: tensorflow\nVersion: {stub_version}\n"
                       "Provides-Extra: and-cuda\nRequires-Dist: nvidia-cudnn-cu12; extra == \"and-cuda\"\n")  # fmt: skip
            else:
                _wheel(folder, name, stub_version)
    _wheel(folder, "nvidia-cudnn-cu12", "9.0")
    return folder


def _environment(tmp_path: Path, *, tensorflow: str | None) -> Path:
    """A fresh virtual environment without pip (pip plans for it from outside); its python."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if tensorflow:
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        info = Path(site) / f"tensorflow-{tensorflow}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tensorflow\nVersion: {tensorflow}\n")
        (info / "INSTALLER").write_text("pip\n")
        (info / "RECORD").write_text("")
    return python


def _plan(python: Path, index: Path, requirement: str, tmp_path: Path) -> dict:
    """``{name: version}`` that ``pip install requirement`` would install into ``python``'s environment."""
    if _pip_version() < Version("22.3"):
        pytest.fail(f"pip {_pip_version()} lacks --python (22.3) or --report (22.2): upgrade pip (make setup does)")
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", "--python", str(python),
         "install", "--dry-run", "--quiet", "--report", str(report), "--no-index", "--find-links", str(index),
         requirement],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, f"pip could not plan {requirement}:\n{result.stderr}"
    plan = json.loads(report.read_text())["install"]
    return {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in plan}


def _cpu_build() -> str:
    """The distribution the "cpu" extra asks for here: a CPU-only wheel exists for Linux x86-64 only."""
    linux_x86 = sys.platform.startswith("linux") and platform.machine() == "x86_64"
    return "tensorflow-cpu" if linux_x86 else "tensorflow"


# --------------------------------------------------------------------------- the tests


def test_a_plain_install_keeps_the_tensorflow_already_there(index, tmp_path):
    """Colab or a GPU machine: ``pip install cae-lib`` plans no second TensorFlow (nor a new version of it)."""
    plan = _plan(_environment(tmp_path, tensorflow="2.17.0"), index, "cae-lib", tmp_path)
    assert "cae-lib" in plan and "keras" in plan, plan
    assert not TENSORFLOW_DISTRIBUTIONS & set(plan), f"a plain install would add TensorFlow over 2.17.0: {plan}"


def test_a_plain_install_on_a_bare_machine_brings_no_tensorflow(index, tmp_path):
    plan = _plan(_environment(tmp_path, tensorflow=None), index, "cae-lib", tmp_path)
    assert not TENSORFLOW_DISTRIBUTIONS & set(plan), plan


def test_the_cpu_extra_brings_the_cpu_build_to_a_bare_machine(index, tmp_path):
    """``make setup``, CI and Binder install ``[cpu]``: tensorflow-cpu on Linux x86-64, tensorflow elsewhere."""
    plan = _plan(_environment(tmp_path, tensorflow=None), index, "cae-lib[cpu]", tmp_path)
    assert TENSORFLOW_DISTRIBUTIONS & set(plan) == {_cpu_build()}, plan
    assert Version(plan[_cpu_build()]) >= Version("2.16")


def test_the_gpu_extra_brings_tensorflow_with_its_cuda_libraries(index, tmp_path):
    plan = _plan(_environment(tmp_path, tensorflow=None), index, "cae-lib[gpu]", tmp_path)
    assert TENSORFLOW_DISTRIBUTIONS & set(plan) == {"tensorflow"}, plan
    assert "nvidia-cudnn-cu12" in plan, f"tensorflow[and-cuda] expected: {plan}"


# --------------------------------------------------------------------------- without TensorFlow

# Makes `import tensorflow` fail as on a machine without it (a plain `pip install cae-lib`).
NO_TENSORFLOW = """
import sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTensorFlow())
"""


def _run_without_tensorflow(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TENSORFLOW + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_tensorflow_free_parts_work_without_tensorflow():
    result = _run_without_tensorflow("""
        import cae_lib
        from cae_lib import cli, config, data
        from cae_lib.codec import container, entropy
        cli.build_parser().parse_args(["info", "x.cae"])
        header = container.read_header(container.pack(b"\\x00\\x01\\x02\\x03", count=0, step=1.0, payload=b""))
        print(header.count, config.quick_mode() in (True, False), data.NUM_CLASSES, callable(entropy.quantise))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "True", "10", "True"]


def test_a_part_that_needs_tensorflow_names_the_extras_that_install_it():
    result = _run_without_tensorflow("""
        try:
            from cae_lib import models
        except ImportError as exc:
            print(exc)
        else:
            print("imported")
    """)
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert "No module named 'tensorflow'" in message
    assert 'pip install "cae-lib[cpu]"' in message and '"cae-lib[gpu]"' in message, message
    assert 'pip install -e ".[cpu]"' in message, message
