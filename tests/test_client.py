"""The REST client that kernels use: it speaks the API's error shape back as the core's typed
errors, sends its DataOps token, and trusts exactly the server's own certificate over HTTPS."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.client import HttpClient
from jupyter_dataops.core import errors

from .factories import make_job

SEEN: list[dict[str, Any]] = []


class FakeApi(BaseHTTPRequestHandler):
    """Answers like the DataOps API: job 3f2a9c1b7d4e exists, anything else is a 404."""

    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "authorization": self.headers.get("Authorization")})
        if self.path.endswith("/dataops/api/jobs/3f2a9c1b7d4e"):
            self._send(200, make_job().model_dump(mode="json"))
        else:
            self._send(
                404,
                {"error": "not_found", "message": "No job.", "hint": "List jobs.", "details": {}},
            )

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    for port in serve(server):
        yield f"http://127.0.0.1:{port}/base/"


@pytest.fixture
def https_api(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=jupyter.example.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for port in serve(server):
        yield f"https://127.0.0.1:{port}/base/", cert


def test_the_client_sends_its_token_and_maps_errors_back(http_api):
    SEEN.clear()
    client = HttpClient(http_api, "dataops1.abc.def", "/r")
    assert client.get_job("3f2a9c1b7d4e").id == "3f2a9c1b7d4e"
    assert SEEN[-1] == {
        "path": "/base/dataops/api/jobs/3f2a9c1b7d4e",
        "authorization": "DataOps dataops1.abc.def",
    }
    with pytest.raises(errors.NotFound) as missing:
        client.get_job("nope/../../api/contents")
    assert str(missing.value) == "No job. List jobs."
    assert SEEN[-1]["path"] == "/base/dataops/api/jobs/nope%2F..%2F..%2Fapi%2Fcontents"


def test_an_unreachable_server_is_backend_unavailable():
    client = HttpClient("http://127.0.0.1:9/", "t", "/r", timeout=5)
    with pytest.raises(errors.BackendUnavailable, match="Cannot reach the Jupyter server"):
        client.get_job("3f2a9c1b7d4e")


def test_over_https_the_client_trusts_exactly_the_servers_certificate(https_api, tmp_path):
    url, cert = https_api
    trusting = HttpClient(url, "t", "/r", cert=str(cert))
    assert trusting.get_job("3f2a9c1b7d4e").id == "3f2a9c1b7d4e"
    # Without the server's certificate (self-signed), or with another one, the client refuses.
    with pytest.raises(errors.BackendUnavailable):
        HttpClient(url, "t", "/r").get_job("3f2a9c1b7d4e")
    other = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=other", "-keyout", str(tmp_path / "k2.pem"), "-out", str(other)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with pytest.raises(errors.BackendUnavailable):
        HttpClient(url, "t", "/r", cert=str(other)).get_job("3f2a9c1b7d4e")


def test_a_kernel_without_the_servers_environment_has_no_http_client():
    assert HttpClient.from_environment({}) is None
    env = {"DATAOPS_SERVER_URL": "http://127.0.0.1:1/", "DATAOPS_TOKEN": "t"}
    client = HttpClient.from_environment({**env, "DATAOPS_ROOT_DIR": "/srv"})
    assert client is not None and client.root == "/srv"
