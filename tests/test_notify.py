"""Notifications about scheduled runs: what they say (render), which targets are accepted, the
retry schedule, and delivery by NotificationSender to real servers on 127.0.0.1: an HTTP server
that records webhook POSTs (and ones that answer 500, redirect, never answer, or are not there),
and an aiosmtpd SMTP server (plain, with AUTH, with STARTTLS, with implicit TLS) whose
certificates come from a throwaway CA made by trustme and trusted through SSL_CERT_FILE."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from traitlets import TraitError

from jupyter_dataops.backends.notify import NotificationSender
from jupyter_dataops.core.errors import InvalidInput
from jupyter_dataops.core.schedules.notify import (
    MAX_ERROR_CHARS,
    NotificationError,
    check_email,
    check_webhook_url,
    error_line,
    next_attempt,
    redact_url,
    render,
)

USERNAME = "dataops"
PASSWORD = "s3cr3t-Pa55w0rd!"
PASSWORD_ENV = "DATAOPS_TEST_SMTP_PASSWORD"
#: Every form of the password that could leak: itself, and as AUTH LOGIN / AUTH PLAIN send it.
PASSWORD_FORMS = (
    PASSWORD,
    base64.b64encode(PASSWORD.encode()).decode(),
    base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode(),
)
SECRET_PATH = "T000/B000/PathToken123"
SECRET_QUERY = "token=QueryToken456"
DUE = 1714543200.0  # 2024-05-01T06:00:00Z
JOB = "3f2a9c1b7d4e"


def payload(outcome: str = "failed", **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "schedule_name": "nightly",
        "schedule_id": "5c0ffee5c0de",
        "notebook_path": "train.ipynb",
        "job_id": JOB,
        "outcome": outcome,
        "error": "ValueError: boom" if outcome == "failed" else None,
        "due_at": DUE,
        "finished_at": DUE + 64.4,
        "duration": 64.4,
        "url": None,
    }
    args.update(overrides)
    return render(**args)


# -- render ----------------------------------------------------------------------------------------
def test_failed_text_without_and_with_a_link():
    assert payload()["text"] == (
        ":x: Scheduled run of train.ipynb (schedule nightly) failed: ValueError: boom"
        " — job 3f2a9c1b7d4e"
    )
    url = "https://lab.example.com/lab?dataops-job=3f2a9c1b7d4e"
    assert payload(url=url)["text"] == (
        ":x: Scheduled run of train.ipynb (schedule nightly) failed: ValueError: boom"
        f" — <{url}|job 3f2a9c1b7d4e>"
    )


def test_completed_text_without_and_with_a_link():
    assert payload("completed")["text"] == (
        ":white_check_mark: Scheduled run of train.ipynb (schedule nightly) completed in"
        " 1 min 4 s — job 3f2a9c1b7d4e"
    )
    text = payload("completed", url="http://127.0.0.1:8888/lab", duration=None)["text"]
    assert text == (
        ":white_check_mark: Scheduled run of train.ipynb (schedule nightly) completed"
        " — <http://127.0.0.1:8888/lab|job 3f2a9c1b7d4e>"
    )


def test_failed_without_an_error_and_a_schedule_without_a_name():
    text = payload(error=None, schedule_name="")["text"]
    assert text == ":x: Scheduled run of train.ipynb (schedule 5c0ffee5c0de) failed — job " + JOB


def test_email_subject_and_body():
    url = "https://lab.example.com/lab?dataops-job=3f2a9c1b7d4e"
    p = payload(url=url)
    assert p["subject"] == "[jupyter-dataops] Scheduled run failed: train.ipynb (schedule nightly)"
    body = p["body"]
    assert body.startswith("Scheduled run of train.ipynb (schedule nightly) failed.\n")
    for line in (
        "Schedule: nightly (id 5c0ffee5c0de)",
        "Notebook: train.ipynb",
        f"Job:      {JOB}",
        "Due:      2024-05-01T06:00:00Z",
        "Finished: 2024-05-01T06:01:04Z",
        "Outcome:  failed",
        "Error:    ValueError: boom",
        "Duration: 1 min 4 s",
        f"Link:     {url}",
    ):
        assert line in body.splitlines(), line
    assert "<" not in body  # plain text, not Slack's link syntax

    done = payload("completed", due_at=None, url=None)
    assert done["subject"].startswith("[jupyter-dataops] Scheduled run completed:")
    assert "Outcome:  completed" in done["body"]
    assert (
        "Due:" not in done["body"] and "Link:" not in done["body"] and "Error:" not in done["body"]
    )


def test_errors_become_one_short_line_without_traceback():
    traceback = (
        "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
        "\x1b[0;31mValueError\x1b[0m                                Traceback (most recent call last)\n"
        "Cell \x1b[0;32mIn[2], line 1\x1b[0m\n"
        '\x1b[0;32m----> 1\x1b[0m \x1b[38;5;28;01mraise\x1b[39;00m \x1b[38;5;167;01mValueError\x1b[39;00m("boom")\n'
        "\n\x1b[0;31mValueError\x1b[0m: boom\n"
    )
    assert error_line(traceback) == "ValueError: boom"
    python_tb = (
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nKeyError: 'a'"
    )
    assert error_line(python_tb) == "KeyError: 'a'"
    assert error_line("RuntimeError: first line\nsecond line\r\nthird") == (
        "RuntimeError: first line second line third"
    )
    long = error_line("MemoryError: " + "x" * 5000)
    assert long is not None and len(long) == MAX_ERROR_CHARS and long.endswith("…")
    assert error_line("") is None and error_line(None) is None and error_line("\n---\n") is None

    p = payload(error=traceback)
    for part in ("text", "subject", "body"):
        assert "Traceback" not in p[part] and "\x1b" not in p[part] and "----> " not in p[part]
    assert "failed: ValueError: boom —" in p["text"]
    p = payload(error="E: " + "y" * 5000)
    error_lines = [line for line in p["body"].splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and len(error_lines[0]) <= MAX_ERROR_CHARS + 10


def test_names_cannot_break_lines_or_inject_slack_markup():
    p = payload(
        schedule_name="<!channel> & <https://evil.example|click>\r\nBcc: x@evil.example",
        notebook_path="a\u202e/b\nc.ipynb",
        error="Oops <@U123> & more",
        url="https://lab.example.com/lab?a=1|<b>",
    )
    text = p["text"]
    assert "\n" not in text and "\r" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text
    assert "Oops &lt;@U123&gt; &amp; more" in text
    assert "<https://lab.example.com/lab?a=1%7C%3Cb%3E|job 3f2a9c1b7d4e>" in text
    assert text.count("<") == 1 and text.count(">") == 1  # the one link
    assert "\n" not in p["subject"] and "\r" not in p["subject"] and "\u202e" not in p["subject"]
    assert not any(line.startswith("Bcc:") for line in p["body"].splitlines())


def test_render_refuses_an_unknown_outcome():
    with pytest.raises(ValueError):
        payload("cancelled")


# -- targets -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "http://127.0.0.1:8080/hook?token=abc",
        "HTTPS://Example.COM",
        "https://user:pass@example.com/hook",
        "http://[::1]:9000/x",
    ],
)
def test_good_webhook_urls(url):
    assert check_webhook_url(url) == url
    assert check_webhook_url(f"  {url}\n") == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/hook", "ftp: URL"),
        ("javascript:alert(1)", "javascript: URL"),
        ("file:///etc/passwd", "file: URL"),
        ("/relative/hook", "no scheme"),
        ("hooks.slack.com/services/x", "no scheme"),
        ("http:///path-only", "no host"),
        ("https://", "no host"),
        ("http://example.com:99999/", "cannot be parsed"),
        ("http://example.com:0/", "port 0"),
        ("http://exa mple.com/", "white space"),
        ("http://example.com/\r\nX-Injected: 1", "white space"),
        ("https://bücher.example/", "non-ASCII"),
        ("", "empty"),
        ("https://example.com/" + "a" * 3000, "longer than"),
    ],
)
def test_bad_webhook_urls(url, says):
    with pytest.raises(InvalidInput) as info:
        check_webhook_url(url)
    assert says in str(info.value)
    assert info.value.hint  # names the fix


def test_redact_url_keeps_no_secrets():
    url = f"https://user:pw@hooks.example.com:8443/services/{SECRET_PATH}?{SECRET_QUERY}#frag"
    shown = redact_url(url)
    assert shown == "https://…@hooks.example.com:8443/services/…?…"
    assert redact_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
    assert redact_url("https://example.com") == "https://example.com"
    assert redact_url("http://[::1]:9/a/b") == "http://[::1]:9/a/…"
    assert redact_url("not a url") == "<not a URL>"
    assert redact_url("http://example.com:99999/x") == "<unparseable URL>"


@pytest.mark.parametrize(
    "address",
    ["ops@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.org", "a@b.io"],
)
def test_good_email_addresses(address):
    assert check_email(address) == address
    assert check_email(f" {address} ") == address


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("Ops Team <ops@example.com>", "display name"),
        ("<ops@example.com>", "display name"),
        ("ops@example.com\r\nBcc: victim@example.com", "line break"),
        ("ops@example.com\nX: y", "line break"),
        ("ops@example.com, dev@example.com", "display name"),  # the space comes first
        ("ops@example.com,dev@example.com", "several addresses"),
        ("ops@example.com;dev@example.com", "several addresses"),
        ("ops.example.com", "local@domain"),
        ("a@b@example.com", "local@domain"),
        ("@example.com", "before @"),
        (".ops@example.com", "before @"),
        ("o..ps@example.com", "before @"),
        ('"quoted"@example.com', "before @"),
        ("jürgen@example.com", "before @"),
        ("x" * 65 + "@example.com", "before @"),
        ("ops@localhost", "with a dot"),
        ("ops@[127.0.0.1]", "with a dot"),
        ("ops@-bad-.example.com", "with a dot"),
        ("ops@exa_mple.com", "with a dot"),
        ("ops@" + "a" * 250 + ".com", "longer than"),
        ("", "empty"),
    ],
)
def test_bad_email_addresses(address, says):
    with pytest.raises(InvalidInput) as info:
        check_email(address)
    assert says in str(info.value)
    assert "\n" not in str(info.value) and "\r" not in str(info.value)


def test_backoff_schedule():
    now = 1000.0
    delays = [next_attempt(n, now) for n in range(1, 8)]
    assert delays == [now + 30, now + 120, now + 480, now + 1800, now + 7200, None, None]
    with pytest.raises(ValueError):
        next_attempt(0, now)


def test_notification_error_is_one_line_and_not_a_dataops_error():
    from jupyter_dataops.core.errors import DataOpsError

    error = NotificationError("bad\r\nthing")
    assert str(error) == "bad thing" and not isinstance(error, DataOpsError)


# -- servers -----------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch):
    """No proxy from the environment between the sender and the servers on 127.0.0.1; only the
    CAs a test trusts."""
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trust(ca, tmp_path, monkeypatch) -> Path:
    """Make the sender trust the test CA, the way an operator adds a private CA."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return path


@pytest.fixture(scope="module")
def server_tls(ca) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpServer:
    url: str
    requests: list[Recorded] = field(default_factory=list)


@pytest.fixture
def http_server() -> Iterator[Callable[..., HttpServer]]:
    """``http_server(status=200, body=b"ok", headers={}, tls=None)``: a server on 127.0.0.1 that
    records every request and answers each the same way."""
    started: list[ThreadingHTTPServer] = []

    def start(
        status: int = 200,
        body: bytes = b"ok",
        headers: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> HttpServer:
        record = HttpServer(url="")

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                record.requests.append(
                    Recorded(self.command, self.path, dict(self.headers), self.rfile.read(length))
                )
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET = _answer

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        scheme = "https" if tls else "http"
        record.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        return record

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


@pytest.fixture
def sender() -> NotificationSender:
    return NotificationSender(timeout_seconds=5)


def assert_no_secret(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    """Neither our log records (the test SMTP server's own, ``mail.log``, aside) nor the given
    texts hold the password or the URL's secrets, in any form."""
    formatter = logging.Formatter("%(name)s %(message)s")
    logged = [formatter.format(r) for r in caplog.records if not r.name.startswith("mail")]
    for text in [*logged, *texts]:
        for secret in (*PASSWORD_FORMS, SECRET_PATH, SECRET_QUERY):
            assert secret not in text, text


# -- webhooks ------------------------------------------------------------------------------------------
def test_webhook_posts_the_text_as_json(http_server, sender, caplog):
    caplog.set_level(logging.DEBUG)
    server = http_server()
    p = payload(url="http://127.0.0.1:8888/lab")
    sender.send("webhook", f"{server.url}/services/{SECRET_PATH}?{SECRET_QUERY}", p)
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == f"/services/{SECRET_PATH}?{SECRET_QUERY}"
    assert json.loads(request.body) == {"text": p["text"]}
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["User-Agent"].startswith("jupyter-dataops/")
    assert "Authorization" not in request.headers
    assert_no_secret(caplog)


def test_webhook_error_statuses_fail_without_showing_the_secrets(http_server, sender, caplog):
    caplog.set_level(logging.DEBUG)
    server = http_server(status=500, body=b"no_service\n")
    with pytest.raises(NotificationError) as info:
        sender.send("webhook", f"{server.url}/services/{SECRET_PATH}?{SECRET_QUERY}", payload())
    assert len(server.requests) == 1
    message = str(info.value)
    assert "HTTP 500" in message and "no_service" in message and "/services/…" in message
    assert_no_secret(caplog, message)

    missing = http_server(status=404, body=b"")
    with pytest.raises(NotificationError, match="HTTP 404"):
        sender.send("webhook", missing.url + "/hook", payload())


def test_webhook_redirects_are_not_followed(http_server, sender):
    target = http_server()
    server = http_server(status=302, headers={"Location": target.url + "/elsewhere"})
    with pytest.raises(NotificationError, match=r"HTTP 302.*redirect"):
        sender.send("webhook", server.url + "/hook", payload())
    assert target.requests == []  # no message-less GET reported as a success


def test_webhook_basic_auth_from_the_url(http_server, sender, caplog):
    caplog.set_level(logging.DEBUG)
    server = http_server()
    sender.send("webhook", server.url.replace("//", f"//{USERNAME}:{PASSWORD}@") + "/h", payload())
    [request] = server.requests
    expected = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.path == "/h"

    denied = http_server(status=401, body=b"bad credentials")
    with pytest.raises(NotificationError) as info:
        sender.send("webhook", denied.url.replace("//", f"//{USERNAME}:{PASSWORD}@"), payload())
    assert "HTTP 401" in str(info.value)
    assert_no_secret(caplog, str(info.value))


@pytest.mark.timeout(30)
def test_webhook_that_never_answers_times_out(silent_port, caplog):
    caplog.set_level(logging.DEBUG)
    sender = NotificationSender(timeout_seconds=0.5)
    with pytest.raises(NotificationError, match="timed out") as info:
        sender.send("webhook", f"http://127.0.0.1:{silent_port}/x?{SECRET_QUERY}", payload())
    assert_no_secret(caplog, str(info.value))


def test_webhook_connection_refused(sender):
    with pytest.raises(NotificationError, match=r"could not be reached.*refused"):
        sender.send("webhook", f"http://127.0.0.1:{free_port()}/hook", payload())


def test_webhook_over_https_checks_the_certificate(http_server, server_tls, sender):
    server = http_server(tls=server_tls)
    with pytest.raises(NotificationError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        sender.send("webhook", server.url + "/hook", payload())
    assert server.requests == []


def test_webhook_over_https_with_a_trusted_ca(http_server, server_tls, sender, trust):
    server = http_server(tls=server_tls)
    sender.send("webhook", server.url + "/hook", payload())
    assert json.loads(server.requests[0].body) == {"text": payload()["text"]}


def test_bad_targets_and_channels_fail_as_notification_errors(sender):
    with pytest.raises(NotificationError, match="javascript: URL"):
        sender.send("webhook", "javascript:alert(1)", payload())
    with pytest.raises(NotificationError, match="unknown notification channel"):
        sender.send("sms", "+100", payload())  # type: ignore[arg-type]
    with pytest.raises(NotificationError, match="no text"):
        sender.send("webhook", "http://127.0.0.1:1/", {"subject": "x"})


# -- e-mail ---------------------------------------------------------------------------------------------
class Mailbox:
    """An aiosmtpd handler keeping what it receives; refuses recipients at ``refused.example``."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(content, policy=email.policy.default)  # type: ignore[misc]
            for _, _, content in self.envelopes
        ]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class Smtp:
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Smtp]]:
    """``smtp_server(**aiosmtpd_options)``: an SMTP server on 127.0.0.1 and a free port."""
    controllers: list[Controller] = []

    def start(**options: Any) -> Smtp:
        mailbox = Mailbox()
        port = free_port()
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=port, server_hostname="smtp.test", **options
        )
        controller.start()
        controllers.append(controller)
        return Smtp(port, mailbox)

    yield start
    for controller in controllers:
        controller.stop()


def mail_sender(port: int, **traits: Any) -> NotificationSender:
    traits.setdefault("smtp_starttls", False)
    traits.setdefault("timeout_seconds", 5)
    traits.setdefault("smtp_from", "DataOps <dataops@example.com>")
    return NotificationSender(smtp_host="127.0.0.1", smtp_port=port, **traits)


def test_email_is_delivered(smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    smtp = smtp_server()
    p = payload(url="https://lab.example.com/lab", notebook_path="Übungen/train.ipynb")
    mail_sender(smtp.port).send("email", "ops@example.com", p)
    [(mail_from, rcpt_tos, _)] = smtp.mailbox.envelopes
    assert mail_from == "dataops@example.com" and rcpt_tos == ["ops@example.com"]
    [message] = smtp.mailbox.messages()
    assert message["Subject"] == p["subject"]
    assert "Übungen/train.ipynb" in message["Subject"]
    assert message["To"] == "ops@example.com"
    assert message["From"] == "DataOps <dataops@example.com>"
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    content = message.get_content()  # type: ignore[attr-defined]
    assert content.replace("\r\n", "\n") == p["body"]
    assert "Due:      2024-05-01T06:00:00Z" in content


def test_one_message_per_recipient(smtp_server):
    smtp = smtp_server()
    sender = mail_sender(smtp.port)
    for address in ("a@example.com", "b@example.com"):
        sender.send("email", address, payload())
    assert [rcpt for _, rcpt, _ in smtp.mailbox.envelopes] == [["a@example.com"], ["b@example.com"]]
    assert [m["To"] for m in smtp.mailbox.messages()] == ["a@example.com", "b@example.com"]


def test_default_sender_address(smtp_server):
    smtp = smtp_server()
    NotificationSender(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False).send(
        "email", "ops@example.com", payload()
    )
    [(mail_from, _, _)] = smtp.mailbox.envelopes
    assert mail_from.startswith("jupyter-dataops@") and "." in mail_from.split("@")[1]


#: aiosmtpd warns when it takes a login without TLS; these tests do that on purpose.
PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@PLAIN_AUTH
def test_email_with_login(smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    smtp = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    sender = mail_sender(smtp.port, smtp_username=USERNAME, smtp_password_env=PASSWORD_ENV)
    sender.send("email", "ops@example.com", payload())
    assert len(smtp.mailbox.envelopes) == 1
    # Logging in without TLS is allowed (a relay on localhost) but warned about.
    assert any("without TLS" in r.getMessage() for r in caplog.records)
    assert_no_secret(caplog)


@PLAIN_AUTH
def test_wrong_password_never_shows_the_password(smtp_server, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    smtp = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD + "-wrong")
    sender = mail_sender(smtp.port, smtp_username=USERNAME, smtp_password_env=PASSWORD_ENV)
    with pytest.raises(NotificationError) as info:
        sender.send("email", "ops@example.com", payload())
    message = str(info.value)
    assert "refused the login as 'dataops'" in message and "535" in message
    wrong = (PASSWORD + "-wrong").encode()
    assert PASSWORD + "-wrong" not in message
    assert base64.b64encode(wrong).decode() not in message
    assert smtp.mailbox.envelopes == []
    assert_no_secret(caplog, message, repr(info.value))


@PLAIN_AUTH
def test_login_needs_the_password_variable(smtp_server, monkeypatch):
    smtp = smtp_server(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    monkeypatch.delenv(PASSWORD_ENV)
    sender = mail_sender(smtp.port, smtp_username=USERNAME, smtp_password_env=PASSWORD_ENV)
    with pytest.raises(NotificationError, match=f"{PASSWORD_ENV}.*is not set"):
        sender.send("email", "ops@example.com", payload())
    sender = mail_sender(smtp.port, smtp_username=USERNAME)
    with pytest.raises(NotificationError, match="smtp_password_env is not"):
        sender.send("email", "ops@example.com", payload())
    assert smtp.mailbox.envelopes == []


def test_password_env_takes_a_name_not_a_password():
    with pytest.raises(TraitError) as info:
        NotificationSender(smtp_password_env=PASSWORD)
    assert PASSWORD not in str(info.value)
    assert NotificationSender(smtp_password_env=PASSWORD_ENV).smtp_password_env == PASSWORD_ENV


def test_bad_settings_are_refused():
    with pytest.raises(TraitError):
        NotificationSender(smtp_port=0)
    with pytest.raises(TraitError):
        NotificationSender(timeout_seconds=0)
    with pytest.raises(TraitError, match="smtp_from"):
        NotificationSender(smtp_from="DataOps <not-an-address>")
    with pytest.raises(TraitError, match="smtp_from"):
        NotificationSender(smtp_from="a@example.com\r\nBcc: b@example.com")


def test_starttls_with_login(smtp_server, server_tls, trust, caplog):
    caplog.set_level(logging.DEBUG)
    smtp = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    sender = mail_sender(
        smtp.port, smtp_starttls=True, smtp_username=USERNAME, smtp_password_env=PASSWORD_ENV
    )
    sender.send("email", "ops@example.com", payload())
    assert len(smtp.mailbox.envelopes) == 1
    assert not any("without TLS" in r.getMessage() for r in caplog.records)
    assert_no_secret(caplog)


def test_starttls_checks_the_certificate(smtp_server, server_tls):
    smtp = smtp_server(tls_context=server_tls, require_starttls=True)
    with pytest.raises(NotificationError, match=r"TLS with SMTP server.*certificate verify failed"):
        mail_sender(smtp.port, smtp_starttls=True).send("email", "ops@example.com", payload())
    assert smtp.mailbox.envelopes == []


def test_starttls_required_but_not_offered(smtp_server):
    smtp = smtp_server()
    with pytest.raises(NotificationError, match=r"STARTTLS.*smtp_starttls = False"):
        mail_sender(smtp.port, smtp_starttls=True).send("email", "ops@example.com", payload())
    assert smtp.mailbox.envelopes == []


def test_implicit_tls(smtp_server, server_tls, trust):
    smtp = smtp_server(ssl_context=server_tls)
    mail_sender(smtp.port, smtp_ssl=True).send("email", "ops@example.com", payload())
    assert len(smtp.mailbox.envelopes) == 1


def test_refused_recipient(smtp_server):
    smtp = smtp_server()
    with pytest.raises(NotificationError, match=r"refused recipient nobody@refused\.example: 550"):
        mail_sender(smtp.port).send("email", "nobody@refused.example", payload())


def test_smtp_connection_refused():
    with pytest.raises(NotificationError, match=r"SMTP server 127\.0\.0\.1:\d+ failed: .*refused"):
        mail_sender(free_port()).send("email", "ops@example.com", payload())


@pytest.mark.timeout(30)
def test_smtp_server_that_never_answers_times_out(silent_port):
    sender = mail_sender(silent_port, timeout_seconds=0.5)
    with pytest.raises(NotificationError, match="timed out"):
        sender.send("email", "ops@example.com", payload())


def test_email_not_configured():
    with pytest.raises(NotificationError) as info:
        NotificationSender().send("email", "ops@example.com", payload())
    assert str(info.value) == "e-mail is not configured (c.NotificationSender.smtp_host)"


def test_bad_addresses_are_not_sent(smtp_server):
    smtp = smtp_server()
    sender = mail_sender(smtp.port)
    for address in ("ops@example.com\r\nBcc: victim@example.com", "Ops <ops@example.com>"):
        with pytest.raises(NotificationError):
            sender.send("email", address, payload())
    assert smtp.mailbox.envelopes == []
