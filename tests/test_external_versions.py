"""How a URL dep's version is read (storage/external.py), in this process against real servers
on loopback: the version fields of each backend, the bytes' hash where there is none, the
timeout, and the lock's check of a URL record."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time

import pytest
import xxhash

from pipetool.errors import RemoteError
from pipetool.storage.external import UrlVersions, version_of
from pipetool.storage.lock import PathRecord, parse, record_problem


def test_the_version_fields_each_backend_gives_and_their_names_in_the_lock():
    assert version_of({"ETag": '"9b2cf535f27731c974343645a3985328"', "size": 3}) == (
        "etag",
        "9b2cf535f27731c974343645a3985328",
    )  # s3fs, and an HTTP server's ETag header
    assert version_of({"etag": "CJ+o2Yb4/YsDEAE=", "generation": "1"}) == ("etag", "CJ+o2Yb4/YsDEAE=")  # gcsfs
    assert version_of({"Content-MD5": "rL0Y20zC+Fzt72VPzMSk2A=="}) == ("checksum", "rL0Y20zC+Fzt72VPzMSk2A==")
    assert version_of({"Digest": "sha-256=abc"}) == ("checksum", "sha-256=abc")
    assert version_of({"size": 3, "Last-Modified": "Sun, 06 Dec 2026 05:18:31 GMT"}) is None
    assert version_of({"ETag": "bad\nvalue"}) is None  # nothing a lock line cannot hold


class _Plain(http.server.SimpleHTTPRequestHandler):
    """A static server that sends no ETag, Content-MD5 or Digest."""

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def plain_server(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Plain, directory=str(folder)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_a_source_without_a_version_is_known_by_the_hash_of_its_bytes(plain_server):
    base, folder = plain_server
    (folder / "data.csv").write_bytes(b"a,b\n1,2\n")
    info = UrlVersions().info(f"{base}/data.csv")
    assert (info.key, info.hash, info.size) == ("xxh3", xxhash.xxh3_128_hexdigest(b"a,b\n1,2\n"), 8)
    assert UrlVersions().info(f"{base}/absent.csv") is None


def test_a_source_that_does_not_answer_is_given_up_after_the_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/data.csv"
        started = time.monotonic()
        with pytest.raises(RemoteError, match=r"did not answer within 0\.3 s"):
            UrlVersions(timeout=0.3).info(url)
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_the_lock_takes_a_url_dep_with_dvc_version_keys_and_refuses_a_url_out():
    text = (
        "version: 1\nstages:\n  get:\n    cmd: pipetool get-url https://h/x x\n    deps:\n"
        "    - path: https://h/x\n      checksum: rL0Y20zC+Fzt72VPzMSk2A==\n    outs:\n"
        "    - path: x\n      xxh3: 0123456789abcdef0123456789abcdef\n      size: 1\n"
    )
    entry = parse(text)["get"]
    assert entry.deps == (PathRecord("https://h/x", "rL0Y20zC+Fzt72VPzMSk2A==", None, None, "checksum"),)
    assert entry.deps[0].to_dict() == {"path": "https://h/x", "checksum": "rL0Y20zC+Fzt72VPzMSk2A=="}
    assert record_problem("s3://b/k", "1a2b", 3, out=True, key="etag")[1].startswith("the out 's3://b/k' is a URL")
    assert record_problem("s3://b/k", '"1a2b"', 3, out=False, key="etag")[0] == "etag"
    assert record_problem("s3://b/k", "not-a-hash", 3, out=False, key="xxh3")[0] == "xxh3"
    assert record_problem("s3://b/k", "1a2b", 3, out=False, key="etag") is None
