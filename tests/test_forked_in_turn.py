"""Work taken in turn by this process and forked ones (system/forked.py): each chunk is done once,
by whichever process is free, so one slow chunk does not hold up a share of the others."""

from __future__ import annotations

import os
import time

import pytest

from pipetool.system.forked import MAX_CHUNKS, chunked, taken_in_turn

two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2 or not hasattr(os, "fork"), reason="needs two cores")


def test_chunks_cover_the_items_in_order_and_stay_within_the_limit():
    items = list(range(10_000))
    assert [i for chunk in chunked(items, 7) for i in chunk] == items
    assert len(chunked(items, 7)) <= MAX_CHUNKS
    assert chunked(items, 256)[0] == list(range(256))
    assert chunked([], 5) == []


@two_cores
def test_a_slow_chunk_leaves_the_others_to_the_process_that_is_free(tmp_path):
    """Chunk 0 waits until every other chunk is done; in equal shares fixed in advance, half of
    them would wait behind it in its own process, and it would wait for ever (here: give up
    after a minute and say so)."""
    chunks = [[i] for i in range(40)]

    def work(chunk: list[int], _) -> bytes:
        (i,) = chunk
        if i == 0:
            deadline = time.monotonic() + 60
            while not all((tmp_path / str(k)).exists() for k in range(1, 40)):
                if time.monotonic() > deadline:
                    return b"gave up"
                time.sleep(0.01)
        (tmp_path / str(i)).write_text(str(os.getpid()))
        return b"done %d" % i

    outputs = taken_in_turn(chunks, work, processes=2)
    assert [output for output, _ in outputs] == [b"done %d" % i for i in range(40)]
    here = str(os.getpid())
    assert [by_here for _, by_here in outputs] == [(tmp_path / str(i)).read_text() == here for i in range(40)]
    assert len({(tmp_path / str(i)).read_text() for i in range(40)}) == 2  # both processes worked


@two_cores
def test_the_chunks_of_a_failed_process_come_back_as_none_and_the_rest_as_done(tmp_path):
    """A forked process that fails loses every chunk it took (the caller does them again, where
    the error shows); the chunks this process did are kept. Which process takes which is not
    fixed: the test reads it from files the chunks leave, and this process waits, in its first
    chunk, for the forked one to have taken one (the handshake: its file)."""
    here = os.getpid()

    def work(chunk: list[int], _) -> bytes:
        (i,) = chunk
        (tmp_path / str(i)).write_text(str(os.getpid()))
        if os.getpid() != here:
            raise OSError("a disk full, say")
        deadline = time.monotonic() + 60
        while not any(path.read_text() not in ("", str(here)) for path in tmp_path.iterdir()):  # "": being written
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return b"%d" % i

    outputs = taken_in_turn([[i] for i in range(30)], work, processes=2)
    assert None in [output for output, _ in outputs]  # the forked process took at least one
    for i, (output, by_here) in enumerate(outputs):
        assert by_here == ((tmp_path / str(i)).read_text() == str(here))
        assert output == (b"%d" % i if by_here else None)


def test_one_process_or_one_chunk_is_done_here_in_order():
    calls = []

    def work(chunk: list[int], on_read) -> bytes:
        calls.append((chunk, on_read))
        return bytes(chunk)

    assert taken_in_turn([[1], [2, 3]], work, print, processes=1) == [(b"\x01", True), (b"\x02\x03", True)]
    assert calls == [([1], print), ([2, 3], print)]
    with pytest.raises(ValueError):
        taken_in_turn([[i] for i in range(MAX_CHUNKS + 1)], work)
