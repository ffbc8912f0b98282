"""Delivering notifications about scheduled runs: a webhook POST (Slack-compatible JSON) with
urllib, and e-mail with smtplib. Configured with traitlets, for example::

    c.NotificationSender.smtp_host = "smtp.example.com"
    c.NotificationSender.smtp_username = "dataops"
    c.NotificationSender.smtp_password_env = "DATAOPS_SMTP_PASSWORD"
    c.NotificationSender.smtp_from = "DataOps <dataops@example.com>"

The password is never in configuration, only the name of the environment variable that holds it,
and it never appears in a log record or an error message; webhook URLs (credentials themselves)
are shown only in :func:`~jupyter_dataops.core.schedules.notify.redact_url`'s form.

TLS certificates are checked against the system's trusted CAs; a private CA is added the usual
OpenSSL way (``SSL_CERT_FILE=/path/to/ca-bundle.pem`` in the scheduler's environment).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit, urlunsplit

from traitlets import Bool, Float, Int, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from ..core.errors import InvalidInput
from ..core.schedules.notify import (
    Channel,
    NotificationError,
    check_email,
    check_webhook_url,
    redact_url,
)
from ..version import __version__

USER_AGENT = f"jupyter-dataops/{__version__} (schedule notifications)"
#: The most of an error response's body that goes into a NotificationError (Slack says why there:
#: ``invalid_token``, ``no_service``...).
MAX_ERROR_BODY = 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn a redirected POST into a GET without the message and
    report success."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class NotificationSender(LoggingConfigurable):
    """Sends notifications about scheduled runs to webhooks and by e-mail (implements the core's
    ``Notifier``). Example: ``c.NotificationSender.smtp_host = "smtp.example.com"``"""

    smtp_host = Unicode(
        "",
        help="SMTP server that sends e-mail notifications. Empty: e-mail is off, and e-mail "
        "notifications fail (and are retried) until it is set. "
        'Example: c.NotificationSender.smtp_host = "smtp.example.com"',
    ).tag(config=True)

    smtp_port = Int(
        587,
        help="Port of the SMTP server: 587 for submission with STARTTLS, 465 with smtp_ssl, 25 "
        "for a relay without TLS. Example: c.NotificationSender.smtp_port = 465",
    ).tag(config=True)

    smtp_starttls = Bool(
        True,
        help="Upgrade the connection with STARTTLS (and check the server's certificate) before "
        "logging in or sending; fails if the server does not offer it. Ignored with smtp_ssl. "
        "Example: c.NotificationSender.smtp_starttls = False",
    ).tag(config=True)

    smtp_ssl = Bool(
        False,
        help="Connect with TLS from the start (SMTPS, usually port 465) instead of STARTTLS. "
        "Example: c.NotificationSender.smtp_ssl = True",
    ).tag(config=True)

    smtp_username = Unicode(
        "",
        help="User to log in to the SMTP server as; empty: do not log in. "
        'Example: c.NotificationSender.smtp_username = "dataops"',
    ).tag(config=True)

    smtp_password_env = Unicode(
        "",
        help="NAME of the environment variable that holds the SMTP password (never the password "
        "itself: configuration files are readable and get shared). Read at each send. "
        'Example: c.NotificationSender.smtp_password_env = "DATAOPS_SMTP_PASSWORD"',
    ).tag(config=True)

    smtp_from = Unicode(
        "",
        help="Sender of notification e-mails, an address with an optional name. Default: "
        "jupyter-dataops@<this host's name>. "
        'Example: c.NotificationSender.smtp_from = "DataOps <dataops@example.com>"',
    ).tag(config=True)

    timeout_seconds = Float(
        10.0,
        help="Limit for each network wait of a delivery (connecting, each read and write) to a "
        "webhook or SMTP server, in seconds; a delivery that hits it fails and is retried later. "
        "Example: c.NotificationSender.timeout_seconds = 30",
    ).tag(config=True)

    @validate("smtp_port")
    def _check_port(self, proposal: Any) -> int:
        port = int(proposal["value"])
        if not 1 <= port <= 65535:
            raise TraitError(f"c.NotificationSender.smtp_port must be 1-65535, not {port}.")
        return port

    @validate("timeout_seconds")
    def _check_timeout(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0 < value <= 3600:
            raise TraitError(
                f"c.NotificationSender.timeout_seconds must be > 0 and <= 3600, not {value}."
            )
        return value

    @validate("smtp_from")
    def _check_from(self, proposal: Any) -> str:
        value = str(proposal["value"]).strip()
        if value:
            try:
                _parse_from(value)
            except InvalidInput as exc:
                raise TraitError(f"c.NotificationSender.smtp_from = {value!r}: {exc}") from None
        return value

    @validate("smtp_password_env")
    def _check_password_env(self, proposal: Any) -> str:
        value = str(proposal["value"]).strip()
        if value and not value.replace("_", "a").isalnum():
            raise TraitError(
                "c.NotificationSender.smtp_password_env is the NAME of an environment variable "
                "(letters, digits, _), such as DATAOPS_SMTP_PASSWORD, not the password itself."
            )
        return value

    # -- the Notifier protocol -----------------------------------------------------------------
    def send(self, channel: Channel, target: str, payload: dict[str, Any]) -> None:
        """Deliver ``payload`` (from ``render``) to one webhook URL or one e-mail address;
        raises NotificationError with a one-line reason when it was not delivered."""
        if channel == "webhook":
            self.send_webhook(target, payload)
        elif channel == "email":
            self.send_email(target, payload)
        else:
            raise NotificationError(f"unknown notification channel {channel!r}")

    # -- webhooks ------------------------------------------------------------------------------
    def send_webhook(self, url: str, payload: dict[str, Any]) -> None:
        """POST ``{"text": payload["text"]}`` as JSON to ``url``; any answer but 2xx (redirects
        included), a network error or the timeout raises NotificationError."""
        try:
            url = check_webhook_url(url)
        except InvalidInput as exc:
            raise NotificationError(str(exc)) from None
        shown = redact_url(url)
        text = payload.get("text")
        if not isinstance(text, str):
            raise NotificationError("the notification has no text to send")
        request = _webhook_request(url, json.dumps({"text": text}).encode())
        opener = urllib.request.build_opener(_NoRedirect)  # proxies from the environment apply
        try:
            with opener.open(request, timeout=self.timeout_seconds) as response:
                status = response.status
                response.read(MAX_ERROR_BODY)
        except urllib.error.HTTPError as exc:
            self._fail(f"webhook {shown} answered {_http_status(exc)}", exc)
        except urllib.error.URLError as exc:
            self._fail(f"webhook {shown} could not be reached: {_reason(exc.reason)}", exc)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._fail(f"webhook {shown} failed: {_reason(exc)}", exc)
        if not 200 <= status < 300:  # urllib raises for most others; 1xx/3xx leftovers here
            self._fail(f"webhook {shown} answered HTTP {status}", None)
        self.log.info("Sent a notification to webhook %s (HTTP %s)", shown, status)

    # -- e-mail --------------------------------------------------------------------------------
    def send_email(self, address: str, payload: dict[str, Any]) -> None:
        """Send one message with ``payload``'s subject and body to ``address`` through the
        configured SMTP server; raises NotificationError when the server is not configured, not
        reachable, refuses the login or the message, or the password variable is not set."""
        if not self.smtp_host:
            raise NotificationError("e-mail is not configured (c.NotificationSender.smtp_host)")
        try:
            to = check_email(address)
        except InvalidInput as exc:
            raise NotificationError(str(exc)) from None
        subject, body = payload.get("subject"), payload.get("body")
        if not isinstance(subject, str) or not isinstance(body, str):
            raise NotificationError("the notification has no e-mail subject and body")
        password = self._password()
        try:
            sender, sender_address = _parse_from(self.smtp_from or _default_from())
        except InvalidInput as exc:
            raise NotificationError(f"c.NotificationSender.smtp_from: {exc}") from None
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = sender
        message["To"] = to
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=sender_address.rsplit("@", 1)[1])
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
        message.set_content(body)

        server = f"SMTP server {self.smtp_host}:{self.smtp_port}"
        try:
            with self._connect() as smtp:
                if self.smtp_username:
                    if not self.smtp_ssl and not self.smtp_starttls:
                        self.log.warning(
                            "Logging in to %s without TLS (c.NotificationSender.smtp_starttls "
                            "is False): the password crosses the network readable",
                            server,
                        )
                    smtp.login(self.smtp_username, password or "")
                smtp.send_message(message, from_addr=sender_address, to_addrs=[to])
        except smtplib.SMTPAuthenticationError as exc:
            self._fail(
                f"{server} refused the login as {self.smtp_username!r}: {_smtp_reply(exc)}",
                exc,
                password,
            )
        except smtplib.SMTPNotSupportedError as exc:
            hint = ""
            if "STARTTLS" in str(exc).upper():
                hint = " (set c.NotificationSender.smtp_starttls = False for a server without TLS)"
            elif "AUTH" in str(exc).upper():
                hint = " (it offers no login: unset c.NotificationSender.smtp_username)"
            self._fail(f"{server}: {_reason(exc)}{hint}", exc, password)
        except smtplib.SMTPRecipientsRefused as exc:
            replies = "; ".join(_smtp_reply_parts(*reply) for reply in exc.recipients.values())
            self._fail(f"{server} refused recipient {to}: {replies}", exc, password)
        except smtplib.SMTPResponseException as exc:
            self._fail(f"{server} refused the message: {_smtp_reply(exc)}", exc, password)
        except ssl.SSLError as exc:
            self._fail(f"TLS with {server} failed: {_reason(exc)}", exc, password)
        except (smtplib.SMTPException, OSError) as exc:
            self._fail(f"{server} failed: {_reason(exc)}", exc, password)
        self.log.info("Sent a notification e-mail to %s through %s", to, server)

    def _password(self) -> str | None:
        """The SMTP password from the configured environment variable (None: no login)."""
        if not self.smtp_username:
            return None
        name = self.smtp_password_env
        if not name:
            raise NotificationError(
                "c.NotificationSender.smtp_username is set but smtp_password_env is not: "
                "name the environment variable that holds the SMTP password"
            )
        password = os.environ.get(name)
        if not password:
            raise NotificationError(
                f"the environment variable {name} (c.NotificationSender.smtp_password_env) that "
                "should hold the SMTP password is not set in the scheduler's environment"
            )
        return password

    def _connect(self) -> smtplib.SMTP:
        """An SMTP connection, encrypted as configured, with the server's greeting read."""
        if self.smtp_ssl:
            return smtplib.SMTP_SSL(
                self.smtp_host,
                self.smtp_port,
                timeout=self.timeout_seconds,
                context=ssl.create_default_context(),
            )
        smtp = smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds)
        try:
            if self.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _fail(
        self, reason: str, exc: BaseException | None, password: str | None = None
    ) -> NoReturn:
        """Raise NotificationError(reason) with the password, should a server have echoed it,
        masked; the original exception's traceback goes to the debug log only."""
        if password:
            reason = reason.replace(password, "***")
        self.log.debug("Notification not delivered: %s", reason, exc_info=exc is not None)
        raise NotificationError(reason) from None


# -- helpers -------------------------------------------------------------------------------------
def _webhook_request(url: str, body: bytes) -> urllib.request.Request:
    """A POST of ``body`` to ``url``; a user and password in the URL become basic auth (urllib
    would otherwise take them for part of the host)."""
    parts = urlsplit(url)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
    }
    if parts.username is not None or parts.password is not None:
        credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        netloc = parts.netloc.rsplit("@", 1)[1]
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def _http_status(exc: urllib.error.HTTPError) -> str:
    """``HTTP 500 Internal Server Error: <start of the body>``."""
    text = f"HTTP {exc.code} {exc.reason or ''}".rstrip()
    if 300 <= exc.code < 400:
        return text + " (a redirect: give the URL it points to)"
    try:
        body = exc.read(MAX_ERROR_BODY).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException, ValueError):
        body = ""
    body = " ".join(body.split())
    return f"{text}: {body}" if body else text


def _reason(exc: object) -> str:
    """An exception as a short reason: its type when its text says nothing (timeouts)."""
    if isinstance(exc, BaseException):
        text = str(exc) or type(exc).__name__
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return f"timed out ({text})" if "timed out" not in text else text
        return text
    return str(exc)


def _smtp_reply_parts(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    return _smtp_reply_parts(exc.smtp_code, exc.smtp_error)


def _default_from() -> str:
    """``jupyter-dataops@<host name>`` (``.localdomain`` added to a name without a dot), or
    ``jupyter-dataops@localhost.localdomain`` when the host's name is no valid domain."""
    host = socket.gethostname() or "localhost"
    if "." not in host:
        host += ".localdomain"
    address = f"jupyter-dataops@{host}"
    try:
        return check_email(address)
    except InvalidInput:
        return "jupyter-dataops@localhost.localdomain"


def _parse_from(value: str) -> tuple[str, str]:
    """``(header value, bare address)`` of a sender such as ``DataOps <dataops@example.com>``;
    InvalidInput unless the address part is a plain address and there are no line breaks."""
    if "\r" in value or "\n" in value:
        raise InvalidInput("The sender contains a line break.")
    name, address = parseaddr(value)
    address = check_email(address)
    if name and any(ch in name for ch in '"\\<>'):
        raise InvalidInput(f"The sender's name {name!r} has quotes or angle brackets.")
    return (f"{name} <{address}>" if name else address), address
