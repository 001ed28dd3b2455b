"""Hostile ``.keras`` model files: the pre-check (:func:`cae_lib.codec.model_file.check_prior`) cannot be turned
against the reader, and priors the range coder cannot use are refused wherever they come from.

Each hostile file is a copy of the default shipped model with its ``model.weights.h5`` member rewritten by
h5py (or its zip bytes patched). Checks that could hang or allocate GBs if they regressed run in a child
process with a timeout and an address-space limit, and report their peak RSS.
"""

import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from cae_lib import pretrained
from cae_lib.codec import model_file
from cae_lib.codec.lite import NumpyPrior
from cae_lib.codec.model_file import ModelFileError

SOURCE = pretrained.model_path(pretrained.default_model())
PRIOR = "layers/latent_prior/vars"
LOC, SCALE, ROTATION = (f"{PRIOR}/{i}" for i in range(3))
PEAK_RSS_LIMIT_MB = 500
TIMEOUT = 60


# --------------------------------------------------------------------------- building hostile files


def _members(source: Path = SOURCE) -> dict[str, bytes]:
    with zipfile.ZipFile(source) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def rewritten(tmp_path: Path, name: str, edit) -> Path:
    """A copy of the default model whose weights ``edit(store)`` changed (an ``h5py.File`` open for writing)."""
    members = _members()
    weights = tmp_path / f"{name}.weights.h5"
    weights.write_bytes(members[model_file.WEIGHTS_MEMBER])
    with h5py.File(weights, "r+") as store:
        edit(store)
    members[model_file.WEIGHTS_MEMBER] = weights.read_bytes()
    return _zip(tmp_path / f"{name}.keras", members)


def _dim() -> int:
    return len(model_file.check_prior(SOURCE)["scale"])


def _replace(store, key, **dataset):
    del store[key]
    store.create_dataset(key, **dataset)


def _external(target, shape):
    def edit(store):
        _replace(store, SCALE, shape=shape, dtype="f4", external=[(str(target), 0, h5py.h5f.UNLIMITED)])

    return edit


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return fifo


def _other_file(tmp_path: Path) -> Path:
    """An HDF5 file holding a plausible prior's scale (``/data``) and a whole ``vars`` group (``/vars``)."""
    shipped = tmp_path / "shipped.weights.h5"
    shipped.write_bytes(_members()[model_file.WEIGHTS_MEMBER])
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as store, h5py.File(shipped, "r") as source:
        store["data"] = np.ones(_dim(), "f4")
        source.copy(source[PRIOR], store, "vars")
    return other


def _virtual(other):
    def edit(store):
        layout = h5py.VirtualLayout(shape=(_dim(),), dtype="f4")
        layout[:] = h5py.VirtualSource(str(other), "data", shape=(_dim(),))
        del store[SCALE]
        store.create_virtual_dataset(SCALE, layout)

    return edit


def _link(key, link):
    def edit(store):
        del store[key]
        store[key] = link

    return edit


def hostile_file(tmp_path: Path, case: str) -> Path:
    """The hostile model file of ``case`` (see ``FILE_CASES``)."""
    dim = _dim()
    if case == "external storage: FIFO":
        return rewritten(tmp_path, "fifo", _external(_fifo(tmp_path), (dim,)))
    if case == "external storage: /dev/zero, 2**30 floats":
        return rewritten(tmp_path, "zero", _external("/dev/zero", (2**30,)))
    if case == "external storage: a regular file":
        secret = tmp_path / "secret.bin"
        secret.write_bytes(np.full(dim, 3.0, "f4").tobytes())
        return rewritten(tmp_path, "regular", _external(secret, (dim,)))
    if case == "virtual dataset":
        return rewritten(tmp_path, "virtual", _virtual(_other_file(tmp_path)))
    if case == "soft link":
        return rewritten(tmp_path, "soft", _link(SCALE, h5py.SoftLink(f"/{LOC}")))
    if case == "external link to a FIFO":
        return rewritten(tmp_path, "extlink", _link(SCALE, h5py.ExternalLink(str(_fifo(tmp_path)), "/data")))
    if case == "external link on the path":
        return rewritten(
            tmp_path, "extgroup", _link(PRIOR, h5py.ExternalLink(str(_other_file(tmp_path)), "/vars"))
        )
    if case == "the model file is a FIFO":
        return _fifo(tmp_path)
    if case == "zip directory declares a 2 GiB member":
        return declared_huge(tmp_path)
    raise AssertionError(case)


FILE_CASES = {  # case: what the one-line message says
    "external storage: FIFO": "keeps its data in other files",
    "external storage: /dev/zero, 2**30 floats": "keeps its data in other files",
    "external storage: a regular file": "keeps its data in other files",
    "virtual dataset": "virtual dataset",
    "soft link": "is a SoftLink",
    "external link to a FIFO": "is a ExternalLink",
    "external link on the path": "is a ExternalLink",
    "the model file is a FIFO": "not a regular file",
    "zip directory declares a 2 GiB member": "declares 2,147,483,648 bytes",
}


def declared_huge(tmp_path: Path, size: int = 2**31) -> Path:
    """A copy of the default model whose zip directory states ``size`` bytes for the weights (bytes patched)."""
    path = tmp_path / "declared.keras"
    path.write_bytes(SOURCE.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(model_file.WEIGHTS_MEMBER)
        start_dir = archive.start_dir
    data = bytearray(path.read_bytes())
    name = model_file.WEIGHTS_MEMBER.encode()
    at = data.index(b"PK\x01\x02", start_dir)
    while data[at + 46 : at + 46 + len(name)] != name:  # central directory headers: 46 bytes, then the name
        at = data.index(b"PK\x01\x02", at + 4)
    assert struct.unpack_from("<L", data, at + 24)[0] == info.file_size
    struct.pack_into("<L", data, at + 24, size)
    path.write_bytes(bytes(data))
    return path


def deflated_bomb(path: Path, size: int = 2**31) -> Path:
    """A default model whose weights member is ``size`` bytes of zeros, deflated to about ``size / 1000``."""
    members = _members()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in members.items():
            if name != model_file.WEIGHTS_MEMBER:
                archive.writestr(name, data)
        with archive.open(model_file.WEIGHTS_MEMBER, "w", force_zip64=True) as member:
            block = bytes(2**24)
            for _ in range(size // len(block)):
                member.write(block)
    return path


_CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a regression fails with MemoryError, not the OOM killer
from cae_lib.codec import model_file
start = time.perf_counter()
try:
    model_file.check_prior(sys.argv[1])
    result = {"refused": None}
except model_file.ModelFileError as exc:
    result = {"refused": str(exc)}
result["none"] = model_file.prior_arrays(sys.argv[1]) is None
result["seconds"] = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's (pytest with TF)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
result["peak_rss_mb"] = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def check_in_child(path: Path, **env) -> dict:
    """:func:`check_prior` and :func:`prior_arrays` of ``path`` in a child process: result, time, peak RSS."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, **env})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


# --------------------------------------------------------------------------- the pre-check


def test_shipped_models_pass_the_check():
    for name in pretrained.available_models():
        arrays = model_file.check_prior(pretrained.model_path(name))
        assert set(arrays) == set(model_file.PRIOR_VARIABLES)
        np.testing.assert_array_equal(arrays["scale"], model_file.prior_scale(pretrained.model_path(name)))


@pytest.mark.parametrize("case", FILE_CASES)
def test_hostile_files_are_refused_promptly_in_bounded_memory(tmp_path, case):
    path = hostile_file(tmp_path, case)
    result = check_in_child(path)
    assert result["refused"] is not None, case
    assert str(path) in result["refused"] and FILE_CASES[case] in result["refused"], result
    assert len(result["refused"].splitlines()) == 1
    assert result["none"]  # prior_arrays keeps its contract: None, never an exception
    assert result["seconds"] < 5 and result["peak_rss_mb"] < PEAK_RSS_LIMIT_MB, result


def test_a_weights_member_over_the_budget_is_refused_before_it_is_read(tmp_path, monkeypatch):
    size = len(_members()[model_file.WEIGHTS_MEMBER])
    monkeypatch.setattr(model_file, "MAX_WEIGHTS_BYTES", size - 1)
    with pytest.raises(ModelFileError, match=f"declares {size:,} bytes, more than the {size - 1:,}"):
        model_file.check_prior(SOURCE)
    monkeypatch.setattr(model_file, "MAX_WEIGHTS_BYTES", size)
    assert model_file.check_prior(SOURCE)["scale"].shape == (_dim(),)


def test_a_deflated_2_gib_weights_member_is_refused_unread(tmp_path):
    path = deflated_bomb(tmp_path / "bomb.keras")
    assert path.stat().st_size < 10 * 2**20
    result = check_in_child(path)
    assert "declares 2,147,483,648 bytes" in result["refused"] and result["none"]
    assert result["seconds"] < 5 and result["peak_rss_mb"] < PEAK_RSS_LIMIT_MB, result


def test_a_zip_directory_too_large_to_parse_is_refused(tmp_path, monkeypatch):
    members = {**_members(), **{f"assets/{i}": b"" for i in range(40)}}
    path = _zip(tmp_path / "many.keras", members)
    assert model_file.check_prior(path)["scale"].shape == (_dim(),)
    monkeypatch.setattr(model_file, "MAX_MEMBERS", 20)
    with pytest.raises(ModelFileError, match=f"{path}: its zip directory lists 43 members"):
        model_file.check_prior(path)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)  # zipfile writes zip64 end records past it
    zip64 = _zip(tmp_path / "zip64.keras", _members())
    assert b"PK\x06\x07" in zip64.read_bytes()[-100:]
    with pytest.raises(ModelFileError, match=f"{zip64}: a zip64 archive"):
        model_file.check_prior(zip64)


@pytest.mark.parametrize(
    "case, message",
    [("not a zip", "not a zip archive"), ("no weights", "no model.weights.h5"), ("a folder", "not a regular file"),
     ("damaged weights", "not a readable HDF5 file"), ("no prior", "holds 0 latent priors")],
)  # fmt: skip
def test_malformed_files_are_refused_in_one_line(tmp_path, case, message):
    path = tmp_path / "m.keras"
    if case == "not a zip":
        path.write_bytes(b"PK not really" * 10)
    elif case == "no weights":
        _zip(path, {"config.json": b"{}"})
    elif case == "a folder":
        path.mkdir()
    elif case == "damaged weights":
        members = _members()
        members[model_file.WEIGHTS_MEMBER] = members[model_file.WEIGHTS_MEMBER][:5000]
        _zip(path, members)
    else:
        path = rewritten(tmp_path, "noprior", lambda store: store.move("layers/latent_prior", "layers/other"))
    with pytest.raises(ModelFileError) as caught:
        model_file.check_prior(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
    assert model_file.prior_arrays(path) is None
    with pytest.raises(FileNotFoundError, match="model file not found"):
        model_file.check_prior(tmp_path / "missing.keras")
    assert model_file.prior_arrays(tmp_path / "missing.keras") is None


# --------------------------------------------------------------------------- numbers the coder cannot use


def _set(key, change):
    def edit(store):
        values = change(store[key][()].astype("f4"))
        _replace(store, key, data=values)

    return edit


def _at(index, value):
    def change(values):
        values[index] = value
        return values

    return change


NUMBER_CASES = {  # case: (edit, message)
    "NaN loc": (_set(LOC, _at(3, np.nan)), "loc must be finite; loc[3] is nan"),
    "inf rotation": (_set(ROTATION, _at((1, 2), np.inf)), "rotation must be finite; rotation[1, 2] is inf"),
    "zero scale": (_set(SCALE, _at(0, 0.0)), "scale must be positive and finite; scale[0] is 0"),
    "negative scale": (_set(SCALE, _at(5, -1.0)), "scale must be positive and finite; scale[5] is -1"),
    "inf scale": (_set(SCALE, _at(2, np.inf)), "scale must be positive and finite; scale[2] is inf"),
    "NaN scale": (_set(SCALE, _at(2, np.nan)), "scale must be positive and finite; scale[2] is nan"),
    "rotation of the wrong shape": (_set(ROTATION, lambda r: r[:, :-1]), "rotation (64, 63)"),
    "scale of the wrong length": (_set(SCALE, lambda s: s[:-1]), "scale (63,)"),
    "2-D scale": (_set(SCALE, lambda s: s[None]), "scale (1, 64)"),
    "huge declared shape": (lambda store: _replace(store, SCALE, shape=(2**20, 2**20), dtype="f4"), "scale (1048576, 1048576)"),
    "strings, not numbers": (lambda store: _replace(store, SCALE, data=np.array([b"x"] * 64)), "not real numbers"),
}  # fmt: skip


@pytest.mark.parametrize("case", NUMBER_CASES)
def test_priors_the_coder_cannot_use_are_refused_in_one_line(tmp_path, case):
    edit, message = NUMBER_CASES[case]
    if "64" in message and _dim() != 64:
        pytest.skip("messages written for a 64-dimensional default model")
    path = rewritten(tmp_path, "numbers", edit)
    with pytest.raises(ModelFileError) as caught:
        model_file.check_prior(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
    assert model_file.prior_arrays(path) is None


@pytest.mark.parametrize(
    "loc, scale, rotation, message",
    [([0.0, np.nan], [1.0, 1.0], np.eye(2), "loc must be finite"),
     ([0.0, 0.0], [1.0, 0.0], np.eye(2), "scale must be positive and finite; scale[1] is 0"),
     ([0.0, 0.0], [-1.0, np.inf], np.eye(2), "scale[0] is -1 (2 such values)"),
     ([0.0, 0.0], [1.0, 1.0], np.eye(3), "do not fit together"),
     ([0.0], [[1.0]], np.eye(1), "must be 1-D")],
)  # fmt: skip
def test_numpy_priors_check_their_numbers(loc, scale, rotation, message):
    with pytest.raises(
        ModelFileError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        NumpyPrior(loc=np.array(loc), scale=np.array(scale), rotation=rotation)
    with pytest.raises(ValueError, match="NumpyPrior: "):
        NumpyPrior.from_arrays({"loc": loc, "scale": scale, "rotation": rotation})
    prior = NumpyPrior(loc=[1, 2], scale=[1, 2], rotation=np.eye(2))
    assert prior.scale.dtype == np.float64 and prior.to_coordinates([[1, 2]]).tolist() == [[0.0, 0.0]]


def test_keras_refuses_a_loaded_prior_the_coder_cannot_use(tmp_path):
    from cae_lib import codec

    path = rewritten(tmp_path, "zero", NUMBER_CASES["zero scale"][0])
    with pytest.raises(ValueError, match="the prior layer 'prior': the prior's scale must be positive"):
        codec.load_model(path)
    model = codec.load_model(SOURCE)
    prior = codec.prior_of(model)
    prior.scale.assign(np.where(np.arange(_dim()) == 1, -1.0, prior.scale_values).astype("f4"))
    with pytest.raises(ModelFileError, match=r"the prior layer 'prior': .*scale\[1\] is -1"):
        codec.compress(np.zeros((1, 28, 28), np.uint8), model)


# --------------------------------------------------------------------------- through the command line


def _cli_cases(in_child: bool):
    cases = [case for case in [*FILE_CASES, "NaN loc", "zero scale", "negative scale"]
             if in_child == ("FIFO" in case or "/dev/zero" in case)]  # fmt: skip
    return cases


def _hostile_or_numbers(tmp_path, case):
    if case in NUMBER_CASES:
        return rewritten(tmp_path, "numbers", NUMBER_CASES[case][0])
    return hostile_file(tmp_path, case)


def _one_digit(tmp_path) -> Path:
    digit = np.zeros((1, 28, 28), np.uint8)
    digit[0, 4:24, 13:16] = 255
    np.save(tmp_path / "digit.npy", digit)
    return tmp_path / "digit.npy"


def _assert_refused_in_one_line(status, err, model, out):
    assert status == 1, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(model) in err
    assert not out.exists()


@pytest.mark.parametrize("case", _cli_cases(in_child=False))
def test_cae_compress_refuses_a_hostile_model_in_one_line(tmp_path, capsys, case):
    from cae_lib import cli

    model = _hostile_or_numbers(tmp_path, case)
    out = tmp_path / "out.cae"
    status = cli.main(["compress", str(_one_digit(tmp_path)), "-o", str(out), "--model", str(model)])
    _, err = capsys.readouterr()
    _assert_refused_in_one_line(status, err, model, out)


@pytest.mark.parametrize("case", _cli_cases(in_child=True))
def test_cae_compress_never_waits_on_a_fifo_nor_reads_dev_zero(tmp_path, case):
    model = hostile_file(tmp_path, case)
    out = tmp_path / "out.cae"
    argv = ["compress", str(_one_digit(tmp_path)), "-o", str(out), "--model", str(model)]
    done = subprocess.run([sys.executable, "-c", "import sys; from cae_lib.cli import main; sys.exit(main(sys.argv[1:]))",
                           *argv], capture_output=True, text=True, timeout=TIMEOUT + 60)  # fmt: skip
    err = "\n".join(line for line in done.stderr.splitlines() if line.startswith("cae "))
    _assert_refused_in_one_line(done.returncode, err, model, out)
    assert done.stderr.strip() == err, done.stderr
