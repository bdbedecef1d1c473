"""Hashing on several cores: forked parts come back in order, a big file among thousands of small
ones gets a process of its own, a part whose process fails is hashed again where its error shows,
and a folder hashed once in a command is not hashed again unless its files changed."""

from __future__ import annotations

import os
import signal
import time

import pytest
import xxhash

from pipetool.storage.hashing import BESIDE_FROM, CHUNK, PROCESSES_FROM, Hasher, file_hash, hash_many
from pipetool.system.forked import in_processes


def small_files(folder, count: int) -> list[tuple[str, int]]:
    folder.mkdir(exist_ok=True)
    files = []
    for i in range(count):
        path = folder / f"{i:05d}.txt"
        path.write_text(f"file {i}\n")
        files.append((str(path), path.stat().st_size))
    return files


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> list[tuple[str, int]]:
    """PROCESSES_FROM + 1 small files (enough to be split between processes), made once."""
    return small_files(tmp_path_factory.mktemp("many"), PROCESSES_FROM + 1)


def expected(files: list[tuple[str, int]]) -> list[str]:
    with_bytes = []
    for path, _ in files:
        with open(path, "rb") as handle:
            with_bytes.append(xxhash.xxh3_128_hexdigest(handle.read()))
    return with_bytes


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to split the work")
def test_big_files_among_thousands_of_small_ones_keep_their_places(tmp_path, many):
    files = list(many)
    bigs = []
    for name, size in (("big1.bin", BESIDE_FROM), ("big2.bin", BESIDE_FROM + 4096)):
        path = tmp_path / name
        with open(path, "wb") as handle:  # sparse: reads as zeros, costs no disk
            handle.truncate(size)
        bigs.append((str(path), size))
    files[10:10] = [bigs[0]]  # one in the first part, one in the last: order must survive
    files.append(bigs[1])
    digests = hash_many(files, jobs=2)
    assert digests == expected(files)
    assert digests[10] == xxhash.xxh3_128_hexdigest(bytes(BESIDE_FROM))
    assert digests[-1] == xxhash.xxh3_128_hexdigest(bytes(BESIDE_FROM + 4096))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to split the work")
def test_a_part_whose_process_fails_is_hashed_here_and_its_error_shows(tmp_path, many):
    files = list(many)
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    files[-1] = (str(folder), 10)  # in the forked part: reading it fails there, then here
    with pytest.raises(IsADirectoryError):
        hash_many(files, jobs=2)
    assert hash_many(many, jobs=2) == expected(many)  # and the next call is unharmed


def test_a_folder_asked_twice_is_hashed_once_until_a_file_in_it_changes(tmp_path):
    small_files(tmp_path / "data", 3)
    hasher = Hasher(str(tmp_path), None)
    first = hasher.info("data")
    assert hasher.tally.files == 3
    assert hasher.info("data") == first
    assert hasher.tally.files == 3  # nothing read again
    changed = tmp_path / "data" / "00001.txt"
    changed.write_text("file X\n")  # same size, new bytes and mtime
    os.utime(changed, ns=(1, os.stat(changed).st_mtime_ns + 1_000_000))
    second = hasher.info("data")
    assert second.hash != first.hash and second.size == first.size
    assert hasher.tally.files == 4  # the changed file alone was read again
    assert Hasher(str(tmp_path), None).info("data") == second


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to split the work")
def test_processes_hashing_files_over_a_chunk_at_once_do_not_share_a_read_buffer(tmp_path, many):
    """The read buffer for files over CHUNK is made before the fork (this test makes it first):
    a forked process must not read into the very pages this one reads into at the same time."""
    file_hash(__file__, None)  # a file of unknown size: read through this thread's buffer
    files = list(many)
    middles = []
    for k in range(3):  # over CHUNK and under BESIDE_FROM: read through the buffer, in this process's part
        path = tmp_path / f"middle{k}.bin"
        path.write_bytes(bytes([k + 1]) * (CHUNK + CHUNK // 2))
        middles.append((str(path), CHUNK + CHUNK // 2))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1024) * (BESIDE_FROM // 1024 + 1))
    files[1:1] = middles
    files.append((str(big), big.stat().st_size))
    assert hash_many(files, jobs=2) == expected(files)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to split the work")
def test_a_big_dep_beside_a_folder_is_hashed_by_a_process_of_its_own_and_remembered(tmp_path, monkeypatch):
    """A stage's big file and its folder are hashed at once (the file in a forked process): the
    same hashes as one after the other, each counted once, and the file's hash kept."""
    (tmp_path / "big.bin").write_bytes(os.urandom(4096) * (BESIDE_FROM // 4096 + 1))
    small_files(tmp_path / "data", 5)
    forks: list[int] = []
    fork = os.fork

    def counted() -> int:
        pid = fork()
        if pid:
            forks.append(pid)
        return pid

    stats: list[str] = []
    stat = os.stat

    def seen(path, *args, **kwargs):
        stats.append(os.fspath(path).rsplit("/", 1)[-1])
        return stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "fork", counted)
    monkeypatch.setattr(os, "stat", seen)
    hasher = Hasher(str(tmp_path), None)
    found = hasher.infos(["big.bin", "data", "missing.txt"])
    assert len(forks) == 1
    assert [stats.count(name) for name in ("big.bin", "data", "missing.txt")] == [1, 1, 1]  # one stat a path
    monkeypatch.setattr(os, "stat", stat)
    one_by_one = Hasher(str(tmp_path), None)
    assert found == {path: one_by_one.info(path) for path in ("big.bin", "data", "missing.txt")}
    assert (
        (hasher.tally.files, hasher.tally.bytes)
        == (one_by_one.tally.files, one_by_one.tally.bytes)
        == (6, (tmp_path / "big.bin").stat().st_size + sum(p.stat().st_size for p in (tmp_path / "data").iterdir()))
    )
    assert hasher.infos(["big.bin", "data"]) == {"big.bin": found["big.bin"], "data": found["data"]}
    assert (hasher.tally.files, len(forks)) == (6, 1)  # both known now: nothing read, nothing forked


def interrupted_beside(started, forked) -> float:
    """in_processes of a part here and a forked part that runs forked(); the part here is
    interrupted once the forked one has made the file `started` (the handshake). The seconds
    in_processes took to give up."""

    def work(part, _):
        if part == ["forked"]:
            forked()
            return b"late"
        while not started.exists():
            time.sleep(0.01)
        raise KeyboardInterrupt

    begun = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        in_processes([["here"], ["forked"]], work)
    return time.monotonic() - begun


def waits_for(never) -> None:
    """Wait for a file nobody makes: a forked part that would never end on its own."""
    while not never.exists():
        time.sleep(0.01)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to split the work")
def test_an_interrupted_part_here_kills_the_forked_parts_instead_of_waiting_for_them(tmp_path):
    """Ctrl-C while a forked process hashes a huge file: the command ends now, not when that
    file is done. Here the forked part waits for a file nobody makes; this process's part is
    interrupted once the forked one has started (its own file is the handshake)."""
    started = tmp_path / "started"

    def forked() -> None:
        started.write_text("")
        waits_for(tmp_path / "never")

    assert interrupted_beside(started, forked) < 30  # the forked part would wait for ever


def test_a_forked_part_stopped_early_unwinds_and_removes_what_it_was_writing(tmp_path):
    """The forked part is stopped with SIGTERM, on which it unwinds: a temp file it was writing
    (a push's upload, a fetch's big object) is removed by its own cleanup, not left behind as a
    SIGKILL would leave it. The file is made inside the part's try: it is the handshake, so
    the SIGTERM may come as soon as it exists."""
    writing = tmp_path / "object.tmp-1"

    def forked() -> None:
        try:
            writing.write_text("half an object")
            waits_for(tmp_path / "never")
        finally:
            writing.unlink()

    interrupted_beside(writing, forked)
    assert not writing.exists()


def test_a_forked_part_that_does_not_end_on_sigterm_is_killed_after_a_second(tmp_path):
    """A part inside a long system call cannot unwind at once: after STOP_SECONDS it is killed."""
    started = tmp_path / "started"

    def forked() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as deaf as a long read would be
        started.write_text("")
        waits_for(tmp_path / "never")

    assert interrupted_beside(started, forked) < 30
