"""cae_lib.files: a failure never leaves a half-written file, and nobody can steer where the writing goes."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from cae_lib.files import OutputExistsError, atomic_directory, atomic_output, remove_stale_staging


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


def test_atomic_output_refuses_an_existing_file_without_force(tmp_path):
    target = tmp_path / "out.cae"
    target.write_bytes(b"mine")
    with pytest.raises(OutputExistsError, match="already exists"):
        with atomic_output(target, force=False) as partial:
            partial.write_bytes(b"theirs")
    assert target.read_bytes() == b"mine" and [p.name for p in tmp_path.iterdir()] == ["out.cae"]


def test_staging_names_are_unpredictable_and_planted_symlinks_are_never_followed(tmp_path):
    """Another user plants symlinks under every name the old scheme used (``.{stem}.{pid}.partial``)."""
    victim = tmp_path / "victim_secret"
    victim.write_bytes(b"precious")
    target = tmp_path / "out.cae"
    for pid in range(os.getpid() - 50, os.getpid() + 50):
        (tmp_path / f".out.{pid}.partial.cae").symlink_to(victim)
    names = set()
    for _ in range(3):
        with atomic_output(target) as partial:
            names.add(partial.name)
            assert not partial.is_symlink() and partial.stat().st_size == 0
            partial.write_bytes(b"compressed")
    assert len(names) == 3  # a fresh random name each time
    assert victim.read_bytes() == b"precious"
    assert target.read_bytes() == b"compressed" and not target.is_symlink()


def test_a_symlink_at_the_target_is_replaced_as_a_link_only_with_force(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.cae"
    link.symlink_to(victim)
    with pytest.raises(OutputExistsError, match="symbolic link"):
        with atomic_output(link, force=False) as partial:
            partial.write_bytes(b"x")
    with atomic_output(link, force=True) as partial:
        partial.write_bytes(b"new")
    assert victim.read_bytes() == b"precious" and not link.is_symlink() and link.read_bytes() == b"new"


def test_atomic_directory_publishes_a_whole_folder_or_nothing(tmp_path):
    out = tmp_path / "pngs"
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as folder:
            (folder / "digit_00000.png").write_bytes(b"x")
            raise RuntimeError("decoder failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with atomic_directory(out) as folder:
        (folder / "a.png").write_bytes(b"a")
        (folder / "b.png").write_bytes(b"b")
    with pytest.raises(OutputExistsError, match="not empty"):
        with atomic_directory(out) as folder:
            (folder / "a.png").write_bytes(b"A")
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    with atomic_directory(out, force=True) as folder:  # replaced whole: no stale b.png beside the new a.png
        (folder / "a.png").write_bytes(b"A")
    assert sorted(p.name for p in out.iterdir()) == ["a.png"] and (out / "a.png").read_bytes() == b"A"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pngs"]
    (tmp_path / "empty").mkdir()
    with atomic_directory(tmp_path / "empty") as folder:  # an empty folder is filled without --force
        (folder / "c.png").write_bytes(b"c")
    assert [p.name for p in (tmp_path / "empty").iterdir()] == ["c.png"]


def test_the_current_folder_and_a_file_are_refused_as_folder_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    for name in (".", "..", str(tmp_path)):
        with pytest.raises(OutputExistsError):
            with atomic_directory(name, force=True):
                pass
    with pytest.raises(NotADirectoryError):
        with atomic_directory(tmp_path / "keep.txt", force=True):
            pass
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_concurrent_writers_of_one_folder_never_mix_their_files(tmp_path):
    out = tmp_path / "pngs"
    errors = []

    def writer(tag: str, files: int):
        try:
            for _ in range(15):
                with atomic_directory(out, force=True) as folder:
                    for i in range(files):
                        (folder / f"digit_{i:05d}.png").write_text(tag)
                        time.sleep(0.0005)
        except Exception as exc:  # a writer may lose a race with a clean error, never mix
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(tag, n)) for tag, n in (("a", 10), ("b", 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(e, (OutputExistsError, OSError)) for e in errors), errors
    contents = {p.read_text() for p in out.iterdir()}
    count = len(list(out.iterdir()))
    assert (contents, count) in (({"a"}, 10), ({"b"}, 3)), (contents, count)  # one writer's whole set
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pngs"]  # no staging left


def test_stale_staging_of_a_dead_process_is_removed_and_others_are_kept(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stale_file = tmp_path / f".out.{dead_pid}.k3j2h1gg.partial.cae"
    stale_file.write_bytes(b"half")
    stale_dir = tmp_path / f".pngs.{dead_pid}.ab12cd34.partial"
    stale_dir.mkdir()
    (stale_dir / "digit_00000.png").write_bytes(b"x")
    alive = tmp_path / f".out.{os.getpid()}.zz99yy88.partial.cae"  # a live writer's: kept
    alive.write_bytes(b"busy")
    mine = tmp_path / ".notes.txt"
    mine.write_text("not staging")
    with atomic_output(tmp_path / "out.cae") as partial:
        partial.write_bytes(b"new")
    assert not stale_file.exists() and not stale_dir.exists()
    assert alive.exists() and mine.exists()
    assert remove_stale_staging(tmp_path) == []


def test_sigterm_removes_the_staging_folder(tmp_path):
    """A killed ``cae decompress`` left a PID-named staging folder (101 MB in the probe) behind."""
    script = (
        "import sys, time\n"
        "from cae_lib.files import atomic_directory, cleanup_on_signals\n"
        "with cleanup_on_signals():\n"
        "    with atomic_directory(sys.argv[1]) as folder:\n"
        "        (folder / 'digit_00000.png').write_bytes(b'x' * 1000)\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "out")], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
