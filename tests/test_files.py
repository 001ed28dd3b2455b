"""cae_lib.files: a failure never leaves a half-written file where a good one was."""

import pytest

from cae_lib.files import atomic_directory, atomic_output


def test_atomic_output_replaces_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "digits.npy"
    target.write_bytes(b"the good one")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as partial:
            assert partial.parent == tmp_path and partial.suffix == ".npy" and partial != target
            partial.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"the good one"
    assert [p.name for p in tmp_path.iterdir()] == ["digits.npy"]
    with atomic_output(target) as partial:
        partial.write_bytes(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["digits.npy"]


def test_atomic_directory_moves_files_in_only_on_success(tmp_path):
    out = tmp_path / "pngs"
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as folder:
            (folder / "digit_00000.png").write_bytes(b"x")
            raise RuntimeError("decoder failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with atomic_directory(out) as folder:
        (folder / "a.png").write_bytes(b"a")
    out.joinpath("keep.txt").write_text("mine")
    with atomic_directory(out) as folder:
        (folder / "a.png").write_bytes(b"A")
    assert (
        sorted(p.name for p in out.iterdir()) == ["a.png", "keep.txt"]
        and (out / "a.png").read_bytes() == b"A"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pngs"]
