"""Cron expressions and time zones of schedules: validation, fire times, plain words.

Syntax
------
Exactly five fields, ``minute hour day-of-month month day-of-week``, as crontab(5) writes them:
numbers, ``*``, ranges (``1-5``), lists (``1,15``), steps (``*/15``, ``0-30/10``), month and weekday
names in any case (``JAN``, ``MON-FRI``), ``0`` or ``7`` for Sunday, ``?`` as a whole day field, and
the presets ``@hourly @daily @midnight @weekly @monthly @yearly @annually`` (mapped to their
five-field forms, see :data:`ALIASES`). When both day fields are restricted a day matches if either
matches (cron's rule: ``0 0 1 * MON`` is the 1st and every Monday).

Refused, with a message naming the field and the fix: a wrong number of fields (seconds and years
are not supported), ``@reboot``, values out of a field's range, a step of 0, ranges that run
backwards (``50-10``; write ``50-59,0-10``), the croniter/Quartz extensions ``L W # H R`` (not
portable to other cron implementations, and ``R`` is random), and a day of the month that never
occurs in the chosen months (``0 0 31 2 *``). croniter parses and steps; this module only checks
which field is at fault and maps wall-clock times to instants.

Time zones
----------
Fire times are wall-clock times in one IANA zone (``Europe/Berlin``, ``UTC``). Names are checked
against the zone database's list before use (:func:`check_timezone`): zoneinfo reads files, so a
name is never used as a path.

Daylight saving (cronie's rules)
--------------------------------
Fire times are POSIX instants. A schedule *follows the clock* when its minute or hour field
contains ``*`` (``*/15 * * * *``, ``0 * * * *``, ``@hourly``); otherwise it is *fixed-time*
(``30 2 * * *``, ``0,30 9-17 * * MON-FRI``, ``@daily``). This is the line cronie draws between
"wildcard" and "fixed-time" jobs.

* Clock-following schedules fire at every real instant whose local wall-clock time matches. In the
  fall-back repeat (02:00-02:59 happens twice in Berlin) both occurrences fire: they are different
  instants an hour apart, and an hourly schedule runs every real hour. Wall times inside the
  spring-forward gap (02:00-02:59 does not exist) belong to no instant, so nothing is skipped: the
  schedule goes on at the next matching time that exists (03:00 for every 15 minutes, while
  ``*/10 2 * * *`` has no run that day).
* Fixed-time schedules fire once per matching wall-clock time. A time in the repeat fires at its
  first occurrence only (02:30 CEST, not again at 02:30 CET). A time in the gap fires once, at the
  first instant after the gap (03:00 local in Berlin), as cronie and systemd do, so a daily 02:30
  job neither runs twice in October nor misses a day in March.
* Never twice at one instant: wall times that map to the same instant (several gap times, or a gap
  time and the time the gap ends at) make one fire time.

Intervals
---------
:meth:`CronSchedule.min_interval` reports the *nominal* smallest gap: between consecutive matching
wall-clock times, ignoring daylight-saving shifts. ``0 6 * * *`` reports 86400 s although the real
gap is 23 h or 25 h across a transition. That is the interval the expression is written for and the
one an operator's minimum interval is compared with; only across a transition can a real gap be
shorter than it, by up to the zone's shift (usually an hour).
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import re
import string
import threading
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadDateError, croniter

from jupyter_dataops.core.errors import InvalidInput

__all__ = [
    "ALIASES",
    "PRESETS",
    "CronError",
    "CronSchedule",
    "check_expression",
    "check_timezone",
    "preview",
]


class CronError(InvalidInput):
    """A cron expression or a time zone is not valid (``details['field']`` names a bad field).

    It keeps InvalidInput's ``reason`` (400, exit code 2): docs/errors.md lists one row per reason.
    """


#: The ``@`` presets cron accepts, as five-field expressions (``@reboot`` is refused).
ALIASES: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

#: Choices for the run dialog: label -> expression (labels go through the UI's translator).
PRESETS: dict[str, str] = {
    "Every 15 minutes": "*/15 * * * *",
    "Hourly": "0 * * * *",
    "Daily at midnight": "0 0 * * *",
    "Daily at 06:00": "0 6 * * *",
    "Weekdays at 09:00": "0 9 * * MON-FRI",
    "Weekly (Monday at 06:00)": "0 6 * * MON",
    "Monthly (1st at 06:00)": "0 6 1 * *",
}

#: name, lowest value, highest value (day-of-week 7 is Sunday, as 0 is).
_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
_NAME_HINTS: dict[int, str] = {
    3: "Use month numbers 1-12 or names JAN-DEC, e.g. 'JAN,JUL' or 'MAR-OCT'.",
    4: "Use weekday numbers 0-7 (0 and 7 are Sunday) or names SUN-SAT, e.g. 'MON-FRI'.",
}
_MAX_EXPRESSION = 200
_NAMED_FIELDS = (3, 4)  # month, day-of-week take three-letter names
_RANGE_TOKEN = re.compile(r"([0-9A-Za-z]+)-([0-9A-Za-z]+)(?:/\d+)?")
_NUMBER = re.compile(r"(?<![/\d])\d+")  # a value, not a step
_TZ_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z][A-Za-z0-9_+-]*)*")
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_EPOCH = datetime(1970, 1, 1)
#: A reference Monday in a leap year, where min_interval starts counting.
_REFERENCE_WALL = (datetime(2024, 1, 1) - _EPOCH).total_seconds()
#: How far ahead next_after looks for a fall-back that repeats wall times before ``t``'s.
_LOOKAHEAD = (3600.0, 7200.0, 10800.0)


def _field_error(message: str, hint: str, expression: str, field: str | None) -> CronError:
    return CronError(message, hint=hint, expression=expression, field=field)


def _syntax_hint(index: int) -> str:
    name, low, high = _FIELDS[index]
    names = " or names (JAN-DEC)" if index == 3 else " or names (SUN-SAT)" if index == 4 else ""
    return (
        f"Write the {name} field with values {low}-{high}{names}, '*', ranges (1-5), lists (1,15)"
        " or steps (*/15)."
    )


def _template(index: int, text: str) -> str:
    parts = ["*"] * 5
    parts[index] = text
    return " ".join(parts)


def _check_field(index: int, text: str, expression: str) -> None:
    """Raise CronError naming field ``index`` if croniter refuses it, or it uses an extension."""
    name, low, high = _FIELDS[index]
    shown = f"The {name} field {text!r}"
    if text == "?":
        if index in (2, 4):
            return
        raise _field_error(
            f"{shown} is not valid: '?' is only allowed as a whole day field.",
            "Use '*' instead.",
            expression,
            name,
        )
    allowed = set("0123456789*,-/") | (
        set(string.ascii_letters) if index in _NAMED_FIELDS else set()
    )
    bad = sorted({ch for ch in text if ch not in allowed})
    if bad:
        chars = ", ".join(repr(ch) for ch in bad)
        raise _field_error(
            f"{shown} is not valid: {chars} cannot be used there.",
            _syntax_hint(index) + " L, W, #, H and R are not supported.",
            expression,
            name,
        )
    if any(len(word) != 3 for word in re.findall(r"[A-Za-z]+", text)):
        raise _field_error(
            f"{shown} is not valid: names are three letters.",
            _NAME_HINTS[index],
            expression,
            name,
        )
    try:
        croniter.expand(_template(index, text))
    except Exception:
        out = [int(v) for v in _NUMBER.findall(text) if not low <= int(v) <= high]
        if out:
            raise _field_error(
                f"{shown} is out of range {low}-{high}.",
                f"Use {name} values from {low} to {high}.",
                expression,
                name,
            ) from None
        if re.search(r"/0+(?!\d)", text):
            raise _field_error(
                f"{shown} has a step of 0.", "Use a step of 1 or more, e.g. */15.", expression, name
            ) from None
        raise _field_error(
            f"{shown} is not valid.",
            _NAME_HINTS.get(index) or _syntax_hint(index),
            expression,
            name,
        ) from None
    for token in text.split(","):
        match = _RANGE_TOKEN.fullmatch(token)
        if not match:
            continue
        first, last = (_value(index, part) for part in match.group(1, 2))
        if index == 4 and last == 0:
            last = 7  # MON-SUN: Sunday as the end of the week
        if first > last:
            raise _field_error(
                f"{shown} has a range that runs backwards ({token}).",
                f"Write ranges from low to high; to wrap around, split it in two, e.g. "
                f"'{first}-{high if index != 4 else 6},{low}-{last}'.",
                expression,
                name,
            )


def _value(index: int, part: str) -> int:
    """The number croniter reads for one value of field ``index`` (``7`` stays 7 for Sunday)."""
    if part.isdigit():
        return int(part)
    expanded = croniter.expand(_template(index, part))[0][index]
    return int(expanded[0])


def check_expression(expression: str) -> str:
    """Return the five-field form of ``expression`` or raise CronError naming the field at fault."""
    if not isinstance(expression, str):
        raise CronError(
            f"The cron expression must be text, not {type(expression).__name__}.",
            hint="Give 5 fields such as '0 6 * * *', or a preset such as '@daily'.",
        )
    text = " ".join(expression.split())
    if not text:
        raise CronError(
            "The cron expression is empty.",
            hint="Give 5 fields such as '0 6 * * *', or a preset such as '@daily'.",
            expression=expression,
        )
    if len(text) > _MAX_EXPRESSION:
        raise CronError(
            f"The cron expression is too long ({len(text)} characters).",
            hint=f"Give at most {_MAX_EXPRESSION} characters, e.g. '0 6 * * *'.",
            expression=expression[:_MAX_EXPRESSION],
        )
    if text.startswith("@"):
        preset = text.lower()
        if preset in ALIASES:
            return ALIASES[preset]
        if preset == "@reboot":
            raise CronError(
                "'@reboot' is not supported: a schedule fires at clock times, not when a machine"
                " starts.",
                hint="Use a time instead, e.g. '@daily' or '0 6 * * *'.",
                expression=expression,
            )
        raise CronError(
            f"Unknown preset {text!r}.",
            hint="Use one of " + ", ".join(ALIASES) + ", or 5 fields such as '0 6 * * *'.",
            expression=expression,
        )
    fields = text.split(" ")
    if len(fields) != 5:
        count = f"{len(fields)} field{'s' if len(fields) != 1 else ''}"
        extra = (
            " Seconds and years are not supported: remove the extra field(s)."
            if len(fields) > 5
            else ""
        )
        raise CronError(
            f"The cron expression {text!r} has {count}; a schedule takes exactly 5: minute, hour,"
            " day-of-month, month, day-of-week.",
            hint=f"Write e.g. '0 6 * * *' (06:00 every day), or a preset such as '@daily'.{extra}",
            expression=expression,
        )
    for index, field in enumerate(fields):
        _check_field(index, field, text)
    try:
        croniter.expand(text)
    except Exception as exc:  # every field passed alone: a combination croniter refuses
        raise CronError(
            f"The cron expression {text!r} is not valid ({exc}).",
            hint="Check each field against crontab(5), e.g. '0 6 * * *'.",
            expression=expression,
        ) from None
    try:  # every expression that fires at all does so within 8 years (29 February)
        croniter(text, _REFERENCE_WALL - 60, max_years_between_matches=9).get_next(float)
    except CroniterBadDateError:
        raise _field_error(
            f"The day-of-month field {fields[2]!r} never occurs in the month field"
            f" {fields[3]!r}, so {text!r} would never fire.",
            "Choose days that exist in those months (February has at most 29).",
            expression,
            "day-of-month",
        ) from None
    return text


@functools.lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def check_timezone(name: str) -> zoneinfo.ZoneInfo:
    """Return the zone for an IANA name ("Europe/Berlin", "UTC"), or raise CronError."""
    example = "Give an IANA time zone name such as 'Europe/Berlin', 'America/New_York' or 'UTC'."
    if not isinstance(name, str) or not name:
        raise CronError("The time zone is empty.", hint=example, timezone=name)
    if len(name) > 64 or not _TZ_NAME.fullmatch(name):
        raise CronError(
            f"{name[:64]!r} is not a time zone name.",
            hint=example + " Names are not paths.",
            timezone=name[:64],
        )
    if name not in _zone_names():
        lowered = {zone.lower(): zone for zone in _zone_names()}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
        close = close or difflib.get_close_matches(name, _zone_names(), n=1, cutoff=0.8)
        hint = f"Did you mean {close[0]!r}?" if close else example
        raise CronError(f"Unknown time zone {name!r}.", hint=hint, timezone=name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(
            f"The time zone {name!r} cannot be loaded.", hint=example, timezone=name
        ) from None


def _check_time(t: float, what: str = "time") -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise CronError(f"The {what} {t!r} is not a POSIX time in seconds.")
    return float(t)


class CronSchedule:
    """A validated cron expression in a time zone, and its fire times (POSIX seconds).

    ``expression`` is what was given (whitespace collapsed), ``fields`` the five-field form used,
    ``timezone`` the IANA name and ``follows_clock`` whether the daylight-saving rules of the module
    docstring treat it as clock-following (minute or hour contains ``*``) or fixed-time.
    Safe to share between threads.
    """

    __slots__ = (
        "_cron",
        "_description",
        "_lock",
        "_min_interval",
        "_next",
        "expression",
        "fields",
        "follows_clock",
        "timezone",
        "zone",
    )

    def __init__(self, expression: str, timezone: str) -> None:
        self.fields = check_expression(expression)
        self.expression = " ".join(expression.split())
        self.zone = check_timezone(timezone)
        self.timezone = timezone
        minute, hour = self.fields.split(" ")[:2]
        self.follows_clock = "*" in minute or "*" in hour
        # Steps through naive wall-clock times; zoneinfo maps them to instants (_instants).
        # croniter's own tz-aware stepping is not used: 7.0 fires some fixed times twice
        # in the fall-back repeat (30 2 * * * in Berlin, 59 1 * * * in New York).
        self._cron = croniter(self.fields, 0.0)
        self._lock = threading.Lock()
        self._description: str | None = None
        # next_after is a pure function of t: a burst of schedules due at the same minute asks
        # for the same times again and again.
        self._next: dict[float, float] = {}
        self._min_interval: float | None = None

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r}, {self.timezone!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronSchedule):
            return NotImplemented
        return (self.fields, self.timezone) == (other.fields, other.timezone)

    def __hash__(self) -> int:
        return hash((self.fields, self.timezone))

    # -- wall clock <-> instants -------------------------------------------------------------

    def _offset_at(self, t: float) -> float:
        offset = datetime.fromtimestamp(t, self.zone).utcoffset()
        return offset.total_seconds() if offset is not None else 0.0

    def _next_wall(self, wall: float) -> float:
        """The first matching wall-clock time (naive, as seconds) strictly after ``wall``."""
        try:
            with self._lock:
                return float(self._cron.get_next(float, start_time=wall))
        except (CroniterBadDateError, ValueError, OverflowError):
            when = (_EPOCH + timedelta(seconds=wall)).isoformat() if abs(wall) < 2.5e11 else wall
            raise CronError(
                f"{self.expression!r} has no fire time after {when} ({self.timezone}).",
                hint="Check the day-of-month and month fields.",
                expression=self.expression,
            ) from None

    def _transition(self, before: float, after: float) -> float:
        """The instant in (before, after] where the zone's offset becomes that of ``after``."""
        target = self._offset_at(after)
        low, high = math.floor(before), math.ceil(after)
        while high - low > 1:
            middle = (low + high) // 2
            if self._offset_at(middle) == target:
                high = middle
            else:
                low = middle
        return float(high)

    def _instants(self, wall: float) -> tuple[float, tuple[float, ...]]:
        """The earliest instant of a matching wall time, and the instants at which it fires.

        The earliest instant never decreases as ``wall`` grows (a gap time maps to the gap's end),
        which is what lets :meth:`next_after` stop at the first candidate past ``t``.
        """
        naive = _EPOCH + timedelta(seconds=wall)
        first = naive.replace(tzinfo=self.zone).utcoffset()
        second = naive.replace(tzinfo=self.zone, fold=1).utcoffset()
        assert first is not None and second is not None
        t0 = wall - first.total_seconds()
        if first == second:
            return t0, (t0,)
        t1 = wall - second.total_seconds()
        if t0 < t1:  # the fall-back repeat: t0 is the first occurrence
            return t0, ((t0, t1) if self.follows_clock else (t0,))
        end = self._transition(t1, t0)  # a spring-forward gap lies between t1 and t0
        return end, (() if self.follows_clock else (end,))

    # -- fire times ----------------------------------------------------------------------------

    def next_after(self, t: float) -> float:
        """The first fire time strictly after POSIX time ``t``."""
        t = _check_time(t)
        known = self._next.get(t)
        if known is not None:
            return known
        found = self._next_after(t)
        if len(self._next) >= 4096:
            self._next.clear()
        self._next[t] = found
        return found

    def _next_after(self, t: float) -> float:
        offset = self._offset_at(t)
        # A fall-back within the next hours repeats wall times below t's: start from the lowest.
        lowest = min(offset, *(self._offset_at(t + ahead) for ahead in _LOOKAHEAD))
        wall = t + lowest
        best = math.inf
        while True:
            wall = self._next_wall(wall)
            earliest, fires = self._instants(wall)
            if earliest >= best:
                return best
            for fire in fires:
                if t < fire < best:
                    best = fire
            if earliest > t and fires:
                return best

    def next_times(self, t: float, n: int) -> list[float]:
        """The next ``n`` fire times after ``t``."""
        times: list[float] = []
        for _ in range(max(0, n)):
            t = self.next_after(t)
            times.append(t)
        return times

    def times_between(self, start: float, end: float, limit: int) -> list[float]:
        """The earliest fire times in (start, end], at most ``limit`` of them."""
        end = _check_time(end, "end time")
        times: list[float] = []
        t = start
        while len(times) < limit:
            t = self.next_after(t)
            if t > end:
                break
            times.append(t)
        return times

    # -- words and intervals ---------------------------------------------------------------

    def describe(self) -> str:
        """Plain English, e.g. "At 06:00, every day (Europe/Berlin)"."""
        if self._description is None:
            try:
                options = Options(verbose=True, use_24hour_time_format=True, locale_code="en_US")
                words = ExpressionDescriptor(self.fields, options).get_description()
                if words.startswith("Every "):
                    # "Every 15 minutes, every hour, every day": the period says it all.
                    for filler in (", every hour", ", every day"):
                        words = words.replace(filler, "")
            except Exception:  # a describer's failure must not hide a valid schedule
                words = f"Cron {self.fields}"
            self._description = f"{words} ({self.timezone})"
        return self._description

    def min_interval(self, sample: int = 200) -> float:
        """The nominal smallest gap in seconds between consecutive fire times (wall clock).

        Fire times are every matching time of day on every matching day, so the smallest gap is
        the smaller of the gap within a day and the shortest step between two consecutive fire
        days (less the span of the day's times). Fire days are counted from a fixed reference
        (2024-01-01) over at least a year and at least ``sample`` fire days (at most 28 years,
        the calendar's weekday cycle). Daylight saving is ignored (see the module docstring).
        """
        if sample == 200 and self._min_interval is not None:
            return self._min_interval
        found = self._measure_interval(sample)
        if sample == 200:
            self._min_interval = found
        return found

    def _measure_interval(self, sample: int) -> float:
        expanded = croniter.expand(self.fields)[0]
        minutes = list(range(60)) if expanded[0] == ["*"] else [int(m) for m in expanded[0]]
        hours = list(range(24)) if expanded[1] == ["*"] else [int(h) for h in expanded[1]]
        day_times = sorted(h * 3600 + m * 60 for h in hours for m in minutes)
        within = min((b - a for a, b in itertools.pairwise(day_times)), default=math.inf)
        span = day_times[-1] - day_times[0]
        days = croniter(" ".join(["0", "0", *self.fields.split(" ")[2:]]), 0.0)
        year, horizon = 366 * 86400, 28 * 366 * 86400
        previous = day = days.get_next(float, start_time=_REFERENCE_WALL - 1)
        count, step = 1, math.inf
        while day - _REFERENCE_WALL < horizon and (
            count < sample or day - _REFERENCE_WALL < year or count < 2
        ):
            day = days.get_next(float)
            step = min(step, day - previous)
            previous, count = day, count + 1
        return float(min(within, step - span))


@functools.lru_cache(maxsize=1024)
def cron_schedule(expression: str, timezone: str) -> CronSchedule:
    """``CronSchedule(expression, timezone)``, shared: one is immutable and safe to share
    between threads, and checking an expression costs a millisecond (a list of schedules, a
    create, its answer and the firer each need it). Invalid input raises, and is not kept."""
    return CronSchedule(expression, timezone)


def preview(expression: str, timezone: str, now: float, n: int = 5) -> dict[str, Any]:
    """What the run dialog shows: plain words, the next ``n`` fire times and the zone."""
    schedule = cron_schedule(expression, timezone)
    return {
        "description": schedule.describe(),
        "next_runs": schedule.next_times(now, n),
        "timezone": schedule.timezone,
    }
