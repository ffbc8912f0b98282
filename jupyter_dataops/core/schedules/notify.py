"""Notifications about scheduled runs: what one says, where it may go, and when to try again.

When a scheduled run ends, the scheduler writes one outbox row per target (a webhook URL, e-mail
addresses) holding the payload :func:`render` made, and a :class:`Notifier` (the backend,
``backends/notify.py``) delivers it. A delivery that fails raises :class:`NotificationError`; the
scheduler logs it and tries again at :func:`next_attempt`, and never fails the run for it.

Everything here is plain Python, so the core can check targets when a schedule is saved
(:func:`check_webhook_url`, :func:`check_email`) and the payload is the same whichever backend
sends it.

Secrets: a Slack, Teams or Discord webhook URL *is* a credential (the token is in its path or
query), so logs and error messages show :func:`redact_url`'s form of it, never the whole URL.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from ..errors import InvalidInput

Outcome = Literal["failed", "completed"]
Channel = Literal["webhook", "email"]

#: The most characters of an error a notification carries (one line, never a traceback).
MAX_ERROR_CHARS = 500
#: The most characters of a name or path in the one-line text and the subject.
MAX_LABEL_CHARS = 200
#: Seconds to wait before the next try, after the 1st, 2nd... failed try. After the first try
#: and these five retries have all failed, :func:`next_attempt` gives up.
RETRY_DELAYS = (30.0, 120.0, 480.0, 1800.0, 7200.0)
#: Tries in all (the first and the retries).
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: Bounds of a webhook URL (as the Notify model stores it) and of an e-mail address (RFC 5321).
MAX_URL_LENGTH = 2048
MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

_EMOJI: dict[str, str] = {"failed": ":x:", "completed": ":white_check_mark:"}
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
_TRACEBACK_MARKERS = ("Traceback (most recent call last)", '\n  File "', "\n----> ", "Cell In[")
_RULE = re.compile(r"^[-=_~*.\s]+$")  # "-----" separator lines in papermill's error text


class NotificationError(Exception):
    """A notification could not be delivered; ``str(error)`` is a one-line reason without
    secrets (no password, no URL query). Deliberately not a DataOpsError: it never reaches a
    user's request, only the scheduler's log and the outbox row."""

    def __init__(self, reason: str) -> None:
        self.reason = _one_line(reason, 1000) or "delivery failed"
        super().__init__(self.reason)


class Notifier(Protocol):
    """Delivers one rendered payload to one target. The scheduler calls it from its own thread,
    one notification at a time; it must return within a bounded time."""

    def send(self, channel: Channel, target: str, payload: dict[str, Any]) -> None:
        """Deliver ``payload`` (from :func:`render`) to ``target``: a webhook URL for
        ``"webhook"``, one address for ``"email"``. Raises :class:`NotificationError` when the
        delivery failed (and may be tried again)."""
        ...


# -- what a notification says --------------------------------------------------------------------
def _one_line(text: str | None, limit: int) -> str:
    """``text`` as one line of at most ``limit`` characters: escape sequences and control,
    format and line-separator characters dropped, runs of white space made one space, and an
    ellipsis where it was cut."""
    if not text:
        return ""
    text = _ANSI.sub("", text)
    chars = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            chars.append(" ")
        elif category != "Cf":  # bidi overrides and zero-width characters could disguise text
            chars.append(ch)
    line = " ".join("".join(chars).split())
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def error_line(error: str | None) -> str | None:
    """The error of a run as one line of at most :data:`MAX_ERROR_CHARS`: a traceback becomes
    its last line (``ValueError: boom``), other text is joined into one line."""
    if not error:
        return None
    text = _ANSI.sub("", error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not _RULE.match(line)]
    if not lines:
        return None
    if any(marker in text for marker in _TRACEBACK_MARKERS):
        lines = lines[-1:]
    return _one_line(" ".join(lines), MAX_ERROR_CHARS) or None


def _slack(text: str) -> str:
    """Escape the three characters Slack's message format gives a meaning (a schedule name
    like ``<https://x|click>`` must not become a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    """``<url|label>``; characters that would end the link early are percent-encoded."""
    url = _one_line(url, MAX_URL_LENGTH).replace(" ", "%20")
    url = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{url}|{_slack(label)}>"


def _iso(t: float | None) -> str | None:
    """A POSIX time in UTC ISO-8601 (``2024-05-01T06:00:00Z``), or None."""
    if t is None or not math.isfinite(t):
        return None
    try:
        moment = datetime.fromtimestamp(t, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def format_duration(seconds: float | None) -> str | None:
    """``42 s``, ``3 min 4 s``, ``2 h 5 min``, ``1 d 3 h`` (rounded to the second), or None."""
    if seconds is None or not math.isfinite(seconds):
        return None
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def render(
    *,
    schedule_name: str,
    schedule_id: str,
    notebook_path: str,
    job_id: str,
    outcome: Outcome,
    error: str | None,
    due_at: float | None,
    finished_at: float | None,
    duration: float | None,
    url: str | None,
) -> dict[str, Any]:
    """The payload of a notification about one scheduled run that ended.

    Returns ``{"text", "subject", "body"}``: ``text`` is one Slack-compatible line for webhooks
    (``:x: Scheduled run of train.ipynb (schedule nightly) failed: ValueError: boom — job
    3f2a9c1b7d4e``, the job a ``<url|job ...>`` link when ``url`` is given); ``subject`` and
    ``body`` are the plain-text e-mail. The error is cut to one line of at most
    :data:`MAX_ERROR_CHARS` characters (a traceback to its last line): notifications leave the
    machine, tracebacks stay in the job's log.
    """
    if outcome not in _EMOJI:
        raise ValueError(f"outcome must be 'failed' or 'completed', not {outcome!r}")
    failed = outcome == "failed"
    name = _one_line(schedule_name, MAX_LABEL_CHARS) or _one_line(schedule_id, MAX_LABEL_CHARS)
    notebook = _one_line(notebook_path, MAX_LABEL_CHARS)
    job = _one_line(job_id, MAX_LABEL_CHARS)
    reason = error_line(error) if failed else None
    took = format_duration(duration)

    ended = "failed" if failed else "completed"
    if failed and reason:
        ended_text = f"failed: {_slack(reason)}"
    elif not failed and took:
        ended_text = f"completed in {took}"
    else:
        ended_text = ended
    link = _slack_link(url, f"job {job}") if url else f"job {_slack(job)}"
    text = (
        f"{_EMOJI[outcome]} Scheduled run of {_slack(notebook)} (schedule {_slack(name)}) "
        f"{ended_text} — {link}"
    )

    subject = f"[jupyter-dataops] Scheduled run {ended}: {notebook} (schedule {name})"
    rows: list[tuple[str, str | None]] = [
        ("Schedule", f"{name} (id {_one_line(schedule_id, MAX_LABEL_CHARS)})"),
        ("Notebook", _one_line(notebook_path, 4096)),
        ("Job", job),
        ("Due", _iso(due_at)),
        ("Finished", _iso(finished_at)),
        ("Outcome", ended),
        ("Error", reason),
        ("Duration", took),
        ("Link", _one_line(url, MAX_URL_LENGTH) if url else None),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"Scheduled run of {notebook} (schedule {name}) {ended}.", ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in rows if value]
    when = "fails" if failed else "completes"
    lines += ["", f"You get this e-mail because schedule {name} notifies you when a run {when}."]
    return {"text": text, "subject": subject, "body": "\n".join(lines) + "\n"}


# -- where it may go -----------------------------------------------------------------------------
def _shown(value: str, limit: int = 80) -> str:
    """A bit of bad input, safe to put in a message."""
    return repr(_one_line(value, limit))


def check_webhook_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host that a webhook can be POSTed to
    (surrounding white space removed), else :class:`InvalidInput` naming the fix. User and
    password in the URL are allowed (sent as HTTP basic auth), but never shown in messages."""
    hint = "Give an absolute http(s) URL such as https://hooks.slack.com/services/T000/B000/XXXX."
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("The webhook URL is empty.", hint=hint)
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(
            f"The webhook URL is longer than {MAX_URL_LENGTH} characters.", hint=hint
        )
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        raise InvalidInput(
            "The webhook URL contains white space or control characters (a line break?).",
            hint="Percent-encode spaces as %20 and remove line breaks. " + hint,
        )
    if not url.isascii():
        raise InvalidInput(
            "The webhook URL contains non-ASCII characters.",
            hint="Percent-encode them, and write an international host name in its xn-- form.",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"The webhook URL cannot be parsed: {exc}.", hint=hint) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = f"a {scheme}: URL" if scheme else "not an absolute URL (it has no scheme)"
        raise InvalidInput(
            f"The webhook URL is {what}; only http and https are allowed.", hint=hint
        )
    if not parts.hostname:
        raise InvalidInput("The webhook URL has no host.", hint=hint)
    if port == 0:
        raise InvalidInput("The webhook URL has port 0.", hint=hint)
    return url


def redact_url(url: str) -> str:
    """``url`` as logs and messages may show it: scheme, host, port and the first segment of
    the path (``https://hooks.slack.com/services/…``). User, password, query and fragment are
    dropped, and so is the rest of the path, where Slack, Teams and Discord put their tokens."""
    try:
        parts = urlsplit(_one_line(url, MAX_URL_LENGTH))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not host:
        return "<not a URL>"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    if parts.username is not None or parts.password is not None:
        netloc = "…@" + netloc  # the user and password are secrets too; say they were there
    segments = [s for s in parts.path.split("/") if s]
    path = ""
    if segments:
        path = "/" + segments[0] + ("/…" if len(segments) > 1 else "")
    tail = "?…" if parts.query else ""
    return f"{parts.scheme.lower()}://{netloc}{path}{tail}"


_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def check_email(address: str) -> str:
    """``address`` if it is one plain address ``local@domain`` (surrounding white space
    removed), else :class:`InvalidInput` naming the fix. Refused: display names
    (``Ops <ops@example.com>``), lists, quoted or non-ASCII local parts, IP-literal domains,
    domains without a dot, line breaks (header injection) and addresses longer than 254
    characters (local part: 64)."""
    hint = "Give one address such as ops@example.com, without a name or angle brackets."
    if not isinstance(address, str) or not address.strip():
        raise InvalidInput("The e-mail address is empty.", hint=hint)
    address = address.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in address):
        raise InvalidInput(
            f"The e-mail address {_shown(address)} contains a line break or control character.",
            hint=hint,
        )
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidInput(
            f"The e-mail address is longer than {MAX_EMAIL_LENGTH} characters.", hint=hint
        )
    if any(ch.isspace() for ch in address) or "<" in address or ">" in address:
        raise InvalidInput(
            f"{_shown(address)} is not a plain e-mail address (a display name or spaces?).",
            hint=hint,
        )
    if "," in address or ";" in address:
        raise InvalidInput(
            f"{_shown(address)} looks like several addresses.",
            hint="Give each address as its own entry.",
        )
    if address.count("@") != 1:
        raise InvalidInput(f"{_shown(address)} is not an e-mail address (local@domain).", hint=hint)
    local, domain = address.split("@")
    if not local or len(local) > MAX_LOCAL_PART_LENGTH or not _ATEXT.match(local):
        raise InvalidInput(
            f"The part before @ in {_shown(address)} is empty, too long or has characters "
            "that are not allowed (quotes, non-ASCII letters, leading or double dots).",
            hint=hint,
        )
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(
            f"The domain of {_shown(address)} is not a host name with a dot (like example.com).",
            hint="Write an international domain in its xn-- form. " + hint,
        )
    return address


# -- when to try again ---------------------------------------------------------------------------
def next_attempt(attempts: int, now: float) -> float | None:
    """When to try a notification again after ``attempts`` tries (1 = the first) have all
    failed: 30 s, 2 min, 8 min, 30 min, then 2 h later; None once the first try and the five
    retries have failed (give up: the outbox row is marked failed)."""
    if attempts < 1:
        raise ValueError(f"attempts counts the failed tries so far (>= 1), not {attempts}")
    if attempts > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[attempts - 1]
