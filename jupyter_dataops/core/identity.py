"""Credentials the server gives the kernels it starts (and the worker gives job kernels), so that
``%dataops`` in a notebook acts through the server as the user the server authenticated.

A token is ``dataops1.<payload>.<signature>``: the payload (base64url JSON) names the subject (the
user), what it is bound to (``kernel:<kernel id>`` or ``job:<job id>``) and when it expires; the
signature is an HMAC-SHA256 with a secret that only the server and the worker can read
(``<data_dir>/secret.key``, mode 0600). The server accepts a token only on the DataOps API, only
until it expires, and only while what it is bound to lives (the kernel runs, the job is running).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import DataOpsError

PREFIX = "dataops1"
SECRET_FILE = "secret.key"
#: Environment of a kernel that acts through a server.
ENV_URL = "DATAOPS_SERVER_URL"
ENV_TOKEN = "DATAOPS_TOKEN"
ENV_ROOT = "DATAOPS_ROOT_DIR"
#: The server's own TLS certificate, when it serves HTTPS: kernels trust exactly that one.
ENV_CERT = "DATAOPS_SERVER_CERT"
#: The identity a job kernel acts as when no server runs (the CLI and magic read it).
ENV_ACTOR = "DATAOPS_ACTOR"
#: The job a job's kernel runs (what it publishes records it: lineage).
ENV_JOB = "DATAOPS_JOB_ID"
#: Set in pods on a cluster: a kernel there acts through the server or not at all (it has no
#: store of its own to fall back on).
ENV_SERVER_ONLY = "DATAOPS_SERVER_ONLY"


class InvalidToken(DataOpsError):
    http_status = 401
    exit_code = 2
    reason = "unauthorized"


@dataclass(frozen=True)
class Claims:
    subject: str
    bound_to: str  # "kernel:<id>" | "job:<id>"
    expires_at: float

    @property
    def kind(self) -> str:
        return self.bound_to.split(":", 1)[0]

    @property
    def target(self) -> str:
        return self.bound_to.split(":", 1)[1]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(data_dir: str | os.PathLike[str]) -> bytes:
    """The signing secret of this data dir, made on first use (readable by its owner only)."""
    path = Path(data_dir) / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        secret = path.read_bytes()
        if len(secret) >= 32:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{SECRET_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    try:
        os.link(tmp, path)  # first writer wins; others read what it wrote
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mint(self, subject: str, bound_to: str, *, ttl: float, now: float | None = None) -> str:
        payload = {"sub": subject, "bnd": bound_to, "exp": (now or time.time()) + ttl}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{PREFIX}.{body}.{self._sign(body)}"

    def verify(self, token: str, *, now: float | None = None) -> Claims:
        """The token's claims, or InvalidToken (never says which part was wrong)."""
        try:
            prefix, body, signature = token.split(".")
        except ValueError:
            raise InvalidToken("The DataOps token is malformed.") from None
        if prefix != PREFIX or not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidToken("The DataOps token is not valid for this server.")
        try:
            payload = json.loads(_unb64(body))
            claims = Claims(str(payload["sub"]), str(payload["bnd"]), float(payload["exp"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("The DataOps token is malformed.") from None
        if claims.expires_at < (now or time.time()):
            raise InvalidToken(
                "The DataOps token has expired.",
                hint="Restart the kernel to get a new one.",
            )
        return claims

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
