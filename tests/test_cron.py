"""Cron expressions and time zones of schedules (core/schedules/cron.py), on real zoneinfo data.

The daylight-saving tests use the real 2026 and 2027 transitions of Europe/Berlin (last Sundays of
March and October, at 01:00 UTC) and America/New_York (second Sunday of March, first Sunday of
November, at 02:00 local), and compare with a brute force: every real minute of a week around each
transition, kept when its local time matches the expression (with the gap and repeat rules of the
module docstring).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from jupyter_dataops.core.errors import InvalidInput
from jupyter_dataops.core.schedules.cron import (
    ALIASES,
    PRESETS,
    CronError,
    CronSchedule,
    check_expression,
    check_timezone,
    preview,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
UTC = timezone.utc


def utc(text: str) -> float:
    """POSIX time of an ISO time in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def local(t: float, zone: str) -> str:
    """A fire time as the user reads it: local time and UTC offset."""
    return datetime.fromtimestamp(t, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M%z")


def runs(expression: str, zone: str, start_utc: str, n: int) -> list[str]:
    return [local(t, zone) for t in CronSchedule(expression, zone).next_times(utc(start_utc), n)]


# -- bad input -----------------------------------------------------------------------------------

BAD_FIELDS = [
    ("61 * * * *", "minute", "the minute field '61' is out of range 0-59"),
    ("* 25 * * *", "hour", "the hour field '25' is out of range 0-23"),
    ("* * 32 * *", "day-of-month", "the day-of-month field '32' is out of range 1-31"),
    ("* * 0 * *", "day-of-month", "the day-of-month field '0' is out of range 1-31"),
    ("* * * 13 *", "month", "the month field '13' is out of range 1-12"),
    ("* * * 0 *", "month", "the month field '0' is out of range 1-12"),
    ("* * * * 8", "day-of-week", "the day-of-week field '8' is out of range 0-7"),
    ("0-60 * * * *", "minute", "the minute field '0-60' is out of range 0-59"),
    ("0 1,2,24 * * *", "hour", "the hour field '1,2,24' is out of range 0-23"),
    ("*/0 * * * *", "minute", "the minute field '*/0' has a step of 0"),
    ("50-10 * * * *", "minute", "the minute field '50-10' has a range that runs backwards"),
    ("0 0 * * FRI-MON", "day-of-week", "range that runs backwards"),
    ("0 0 L * *", "day-of-month", "the day-of-month field 'L' is not valid"),
    ("0 0 15W * *", "day-of-month", "'W' cannot be used there"),
    ("0 0 * * 5#3", "day-of-week", "'#' cannot be used there"),
    ("H * * * *", "minute", "the minute field 'H' is not valid"),
    ("R * * * *", "minute", "the minute field 'R' is not valid"),
    ("0 x * * *", "hour", "the hour field 'x' is not valid"),
    ("1,,2 * * * *", "minute", "the minute field '1,,2' is not valid"),
    ("-1 * * * *", "minute", "the minute field '-1' is not valid"),
    ("? * * * *", "minute", "only allowed as a whole day field"),
    ("0 0 * January *", "month", "names are three letters"),
    ("0 0 * XYZ *", "month", "the month field 'XYZ' is not valid"),
    ("0 0 * * FUN", "day-of-week", "the day-of-week field 'FUN' is not valid"),
    ("0 0 31 2 *", "day-of-month", "never occurs in the month field '2'"),
    ("0 0 30,31 2 *", "day-of-month", "would never fire"),
    ("0 ٦ * * *", "hour", "cannot be used there"),  # an Arabic-Indic six is not a digit here
]


@pytest.mark.parametrize(("expression", "field", "text"), BAD_FIELDS)
def test_a_bad_field_is_named(expression: str, field: str, text: str) -> None:
    with pytest.raises(CronError) as caught:
        CronSchedule(expression, "UTC")
    error = caught.value
    assert text.lower() in str(error).lower()
    assert error.details["field"] == field
    assert error.hint  # every message says how to fix it
    assert error.http_status == 400 and isinstance(error, InvalidInput)
    assert error.to_dict()["details"]["field"] == field


BAD_SHAPES = [
    ("", "is empty"),
    ("   ", "is empty"),
    ("0 6 * * * *", "has 6 fields; a schedule takes exactly 5"),
    ("0 0 6 * * * 2026", "has 7 fields"),
    ("0 6 * *", "has 4 fields"),
    ("garbage", "has 1 field;"),
    ("@reboot", "'@reboot' is not supported"),
    ("@every5m", "unknown preset '@every5m'"),
    ("0 " * 150, "too long"),
]


@pytest.mark.parametrize(("expression", "text"), BAD_SHAPES)
def test_a_bad_shape_is_refused_with_the_fix(expression: str, text: str) -> None:
    with pytest.raises(CronError) as caught:
        check_expression(expression)
    message = str(caught.value)
    assert text.lower() in message.lower()
    assert "'0 6 * * *'" in message or "@daily" in message  # the fix, by example


def test_six_fields_say_seconds_are_not_supported() -> None:
    with pytest.raises(CronError, match="Seconds and years are not supported"):
        check_expression("*/10 * * * * *")


def test_not_text_is_refused() -> None:
    with pytest.raises(CronError, match="must be text"):
        check_expression(5)  # type: ignore[arg-type]


# -- accepted forms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "*/15 * * * *",
        "0 9 * * MON-FRI",
        "0 9 * * mon-fri",
        "0 0 1 JAN *",
        "0 0 1 jan,jul *",
        "5,35 8-18/2 * * 1-5",
        "0 0 * * 7",
        "0 0 * * 0-7",
        "0 0 * * MON-SUN",
        "0 0 * * SAT-SUN",
        "0 0 ? * MON",
        "0 0 29 2 *",
        "0 0 31 2 MON",  # cron's day rule: Mondays in February
        "5/15 * * * *",
        "  0   6  *  *  *  ",
    ],
)
def test_usual_forms_are_accepted(expression: str) -> None:
    schedule = CronSchedule(expression, "UTC")
    assert schedule.expression == " ".join(expression.split())
    assert len(schedule.next_times(utc("2026-01-01T00:00:00"), 3)) == 3


def test_start_and_step_at_the_field_maximum_is_one_value() -> None:
    # croniter before 7.0 read '59/15' as every quarter hour (hence croniter>=7.0).
    assert runs("59/15 * * * *", "UTC", "2026-01-01T00:00:00", 2) == [
        "2026-01-01 00:59+0000",
        "2026-01-01 01:59+0000",
    ]


def test_names_numbers_and_sunday_seven_agree() -> None:
    start = utc("2026-06-01T00:00:00")
    by_name = CronSchedule("0 9 * * MON-FRI", BERLIN).next_times(start, 20)
    assert CronSchedule("0 9 * * 1-5", BERLIN).next_times(start, 20) == by_name
    sundays = CronSchedule("0 0 * * 0", "UTC").next_times(start, 5)
    assert CronSchedule("0 0 * * 7", "UTC").next_times(start, 5) == sundays
    assert CronSchedule("0 0 * * SUN", "UTC").next_times(start, 5) == sundays


def test_day_of_month_or_day_of_week_as_cron_does() -> None:
    assert runs("0 0 1 * MON", "UTC", "2026-06-01T00:00:00", 3) == [
        "2026-06-08 00:00+0000",
        "2026-06-15 00:00+0000",
        "2026-06-22 00:00+0000",
    ]
    assert runs("0 0 13 * FRI", "UTC", "2026-02-10T00:00:00", 2) == [
        "2026-02-13 00:00+0000",
        "2026-02-20 00:00+0000",
    ]


@pytest.mark.parametrize(
    ("preset", "fields"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_at_presets_map_to_five_fields(preset: str, fields: str) -> None:
    schedule = CronSchedule(preset, BERLIN)
    assert schedule.fields == fields == check_expression(preset)
    start = utc("2026-05-05T05:05:00")
    assert schedule.next_times(start, 3) == CronSchedule(fields, BERLIN).next_times(start, 3)


def test_ui_presets_are_valid_and_cover_the_usual_choices() -> None:
    assert set(ALIASES) == {
        "@hourly",
        "@daily",
        "@midnight",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
    }
    for label, expression in PRESETS.items():
        assert label and check_expression(expression) == expression
    values = set(PRESETS.values())
    assert {"0 * * * *", "0 9 * * MON-FRI", "0 6 1 * *"} <= values
    assert any(e.endswith(" * * MON") for e in values)  # weekly


# -- plain words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "zone", "words"),
    [
        ("0 6 * * *", BERLIN, "At 06:00, every day (Europe/Berlin)"),
        ("@daily", "UTC", "At 00:00, every day (UTC)"),
        ("*/15 * * * *", NEW_YORK, "Every 15 minutes (America/New_York)"),
        ("* * * * *", "UTC", "Every minute (UTC)"),
        ("0 */2 * * *", "UTC", "Every 2 hours (UTC)"),
        ("* * 1 * *", "UTC", "Every minute, on day 1 of the month (UTC)"),
        ("0 9 * * MON-FRI", BERLIN, "At 09:00, Monday through Friday (Europe/Berlin)"),
        ("30 14 1 * *", "UTC", "At 14:30, on day 1 of the month (UTC)"),
    ],
)
def test_describe_in_plain_words_with_the_zone(expression: str, zone: str, words: str) -> None:
    assert CronSchedule(expression, zone).describe() == words


def test_preview_is_what_the_run_dialog_shows() -> None:
    now = utc("2026-03-27T12:00:00")
    shown = preview("30 2 * * *", BERLIN, now)
    assert shown == {
        "description": "At 02:30, every day (Europe/Berlin)",
        "next_runs": CronSchedule("30 2 * * *", BERLIN).next_times(now, 5),
        "timezone": BERLIN,
    }
    assert [local(t, BERLIN) for t in shown["next_runs"][:3]] == [
        "2026-03-28 02:30+0100",
        "2026-03-29 03:00+0200",  # 02:30 does not exist that day: at the end of the gap
        "2026-03-30 02:30+0200",
    ]
    assert len(preview("@hourly", "UTC", now, n=2)["next_runs"]) == 2
    with pytest.raises(CronError):
        preview("* 25 * * *", BERLIN, now)
    with pytest.raises(CronError):
        preview("0 6 * * *", "Mars/Olympus", now)


# -- time zones ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", BERLIN, NEW_YORK, "Asia/Kolkata", "Etc/GMT+5"])
def test_iana_names_are_accepted(name: str) -> None:
    assert check_timezone(name) == ZoneInfo(name)
    assert CronSchedule("0 6 * * *", name).timezone == name


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("", "is empty"),
        ("../etc/passwd", "not a time zone name"),
        ("../../../../etc/localtime", "not a time zone name"),
        ("/etc/localtime", "not a time zone name"),
        ("/usr/share/zoneinfo/UTC", "not a time zone name"),
        ("Europe/../UTC", "not a time zone name"),
        ("Europe/./Berlin", "not a time zone name"),
        ("Europe//Berlin", "not a time zone name"),
        ("Europe\\Berlin", "not a time zone name"),
        ("UTC\x00", "not a time zone name"),
        (" UTC", "not a time zone name"),
        ("x" * 300, "not a time zone name"),
        ("right/UTC", "unknown time zone"),  # leap-second data: wrong for POSIX times
        ("posix/Europe/Berlin", "unknown time zone"),
        ("localtime", "unknown time zone"),  # the machine's zone, not a name
        ("Europe", "unknown time zone"),  # a directory
        ("Mars/Olympus", "unknown time zone"),
        ("CEST", "unknown time zone"),
    ],
)
def test_unknown_zones_and_path_tricks_are_refused(name: str, text: str) -> None:
    with pytest.raises(CronError) as caught:
        check_timezone(name)
    assert text in str(caught.value).lower()
    assert caught.value.hint
    with pytest.raises(CronError):
        CronSchedule("0 6 * * *", name)


def test_a_near_miss_zone_suggests_the_name() -> None:
    with pytest.raises(CronError, match="Did you mean 'Europe/Berlin'"):
        check_timezone("europe/berlin")
    with pytest.raises(CronError, match="Did you mean 'America/New_York'"):
        check_timezone("America/New_Yrok")


# -- next times, away from transitions ---------------------------------------------------------


def test_next_after_is_strictly_after() -> None:
    schedule = CronSchedule("0 6 * * *", BERLIN)
    six = utc("2026-07-01T04:00:00")  # 06:00 CEST
    assert schedule.next_after(six - 0.001) == six
    assert schedule.next_after(six) == six + 86400
    assert schedule.next_after(six - 86400 + 0.5) == six
    assert CronSchedule("*/1 * * * *", "UTC").next_after(utc("2026-01-01T00:00:30.5")) == utc(
        "2026-01-01T00:01:00"
    )


def test_times_follow_the_zone() -> None:
    assert runs("0 6 * * *", BERLIN, "2026-01-10T00:00:00", 1) == ["2026-01-10 06:00+0100"]
    assert runs("0 6 * * *", NEW_YORK, "2026-01-10T00:00:00", 1) == ["2026-01-10 06:00-0500"]
    assert CronSchedule("0 6 * * *", NEW_YORK).next_after(utc("2026-01-10T00:00:00")) == utc(
        "2026-01-10T11:00:00"
    )


def test_leap_day_only_schedule() -> None:
    assert runs("0 0 29 2 *", "UTC", "2026-01-01T00:00:00", 2) == [
        "2028-02-29 00:00+0000",
        "2032-02-29 00:00+0000",
    ]


def test_bad_times_are_refused() -> None:
    schedule = CronSchedule("0 6 * * *", "UTC")
    for bad in (float("nan"), float("inf"), "12", None, True):
        with pytest.raises(CronError):
            schedule.next_after(bad)  # type: ignore[arg-type]


def test_times_between_limits() -> None:
    schedule = CronSchedule("*/15 * * * *", "UTC")
    start, end = utc("2026-01-01T00:00:00"), utc("2026-01-01T02:00:00")
    every = schedule.times_between(start, end, 1000)
    assert every[0] == start + 900  # start is excluded
    assert every[-1] == end  # end is included
    assert len(every) == 8
    assert schedule.times_between(start, end, 3) == every[:3]  # the earliest, for catching up
    assert schedule.times_between(start, end, 0) == []
    assert schedule.times_between(start, start + 899, 10) == []
    assert schedule.times_between(end, start, 10) == []
    # A week of downtime for an every-minute schedule, capped.
    minutely = CronSchedule("* * * * *", "UTC")
    assert len(minutely.times_between(start, start + 7 * 86400, 50)) == 50
    assert schedule.next_times(start, 4) == every[:4]
    assert schedule.next_times(start, 0) == []


# -- daylight saving: the rules, by example ------------------------------------------------------


def test_berlin_spring_forward_2026() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC): 02:00-02:59 does not exist.
    day = "2026-03-28T23:00:00"
    assert runs("30 2 * * *", BERLIN, day, 2) == ["2026-03-29 03:00+0200", "2026-03-30 02:30+0200"]
    assert CronSchedule("30 2 * * *", BERLIN).next_after(utc(day)) == utc("2026-03-29T01:00:00")
    assert runs("0 6 * * *", BERLIN, day, 2) == ["2026-03-29 06:00+0200", "2026-03-30 06:00+0200"]
    assert runs("0 * * * *", BERLIN, day, 4) == [
        "2026-03-29 01:00+0100",
        "2026-03-29 03:00+0200",  # every real hour, nothing invented for the missing one
        "2026-03-29 04:00+0200",
        "2026-03-29 05:00+0200",
    ]
    assert runs("*/15 * * * *", BERLIN, "2026-03-29T00:30:00", 4) == [
        "2026-03-29 01:45+0100",
        "2026-03-29 03:00+0200",
        "2026-03-29 03:15+0200",
        "2026-03-29 03:30+0200",
    ]
    # Two times in the gap and the gap's end make one fire time, not three.
    assert runs("0,30 2,3 * * *", BERLIN, day, 3) == [
        "2026-03-29 03:00+0200",
        "2026-03-29 03:30+0200",
        "2026-03-30 02:00+0200",
    ]


def test_berlin_fall_back_2026() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC): 02:00-02:59 happens twice.
    day = "2026-10-24T22:00:00"
    assert runs("30 2 * * *", BERLIN, day, 2) == ["2026-10-25 02:30+0200", "2026-10-26 02:30+0100"]
    assert runs("0 6 * * *", BERLIN, day, 2) == ["2026-10-25 06:00+0100", "2026-10-26 06:00+0100"]
    assert runs("0 * * * *", BERLIN, day, 5) == [
        "2026-10-25 01:00+0200",
        "2026-10-25 02:00+0200",
        "2026-10-25 02:00+0100",  # the same wall time, a real hour later
        "2026-10-25 03:00+0100",
        "2026-10-25 04:00+0100",
    ]
    quarter = CronSchedule("*/15 * * * *", BERLIN).times_between(
        utc("2026-10-24T23:50:00"), utc("2026-10-25T02:10:00"), 100
    )
    assert quarter == [utc("2026-10-25T00:00:00") + 900 * i for i in range(9)]
    assert len(set(quarter)) == len(quarter)


def test_new_york_2026_and_2027() -> None:
    # Spring: 2026-03-08 02:00 EST -> 03:00 EDT. Fall: 2026-11-01 02:00 EDT -> 01:00 EST.
    assert runs("30 2 * * *", NEW_YORK, "2026-03-08T05:00:00", 2) == [
        "2026-03-08 03:00-0400",
        "2026-03-09 02:30-0400",
    ]
    assert runs("30 1 * * *", NEW_YORK, "2026-11-01T04:00:00", 2) == [
        "2026-11-01 01:30-0400",
        "2026-11-02 01:30-0500",
    ]
    assert runs("0 6 * * *", NEW_YORK, "2026-11-01T04:00:00", 1) == ["2026-11-01 06:00-0500"]
    assert runs("0 * * * *", NEW_YORK, "2026-11-01T04:30:00", 3) == [
        "2026-11-01 01:00-0400",
        "2026-11-01 01:00-0500",
        "2026-11-01 02:00-0500",
    ]
    # 2027: 2027-03-14 and 2027-11-07.
    assert runs("30 2 * * *", NEW_YORK, "2027-03-14T05:00:00", 1) == ["2027-03-14 03:00-0400"]
    assert runs("30 1 * * *", NEW_YORK, "2027-11-07T04:00:00", 2) == [
        "2027-11-07 01:30-0400",
        "2027-11-08 01:30-0500",
    ]
    assert runs("*/15 * * * *", NEW_YORK, "2027-03-14T06:30:00", 3) == [
        "2027-03-14 01:45-0500",
        "2027-03-14 03:00-0400",
        "2027-03-14 03:15-0400",
    ]


def test_berlin_2027() -> None:
    assert runs("30 2 * * *", BERLIN, "2027-03-27T23:00:00", 1) == ["2027-03-28 03:00+0200"]
    assert runs("30 2 * * *", BERLIN, "2027-10-30T22:00:00", 2) == [
        "2027-10-31 02:30+0200",
        "2027-11-01 02:30+0100",
    ]


def test_from_inside_the_repeated_hour() -> None:
    # 02:10 CET, the second 02:10 of 2026-10-25 in Berlin.
    second_pass = utc("2026-10-25T01:10:00")
    # The fixed-time 02:30 fired at its first occurrence; not again.
    assert local(CronSchedule("30 2 * * *", BERLIN).next_after(second_pass), BERLIN) == (
        "2026-10-26 02:30+0100"
    )
    # The clock-following one goes on with the real quarter hours.
    assert local(CronSchedule("*/15 * * * *", BERLIN).next_after(second_pass), BERLIN) == (
        "2026-10-25 02:15+0100"
    )
    # Just before the fall back, wall times already passed come again.
    first_pass = utc("2026-10-25T00:50:00")  # 02:50 CEST
    assert local(CronSchedule("*/15 * * * *", BERLIN).next_after(first_pass), BERLIN) == (
        "2026-10-25 02:00+0100"
    )
    assert local(CronSchedule("15 2 * * *", BERLIN).next_after(first_pass), BERLIN) == (
        "2026-10-26 02:15+0100"
    )


def test_follows_clock_is_the_minute_or_hour_wildcard() -> None:
    assert CronSchedule("*/15 * * * *", "UTC").follows_clock
    assert CronSchedule("0 * * * *", "UTC").follows_clock
    assert CronSchedule("@hourly", "UTC").follows_clock
    assert CronSchedule("* 2 * * *", "UTC").follows_clock
    assert not CronSchedule("30 2 * * *", "UTC").follows_clock
    assert not CronSchedule("@daily", "UTC").follows_clock
    assert not CronSchedule("0,30 1-3 * * *", "UTC").follows_clock


# -- daylight saving: brute force ------------------------------------------------------------

TRANSITIONS = [
    (BERLIN, "2026-03-29T01:00:00"),
    (BERLIN, "2026-10-25T01:00:00"),
    (NEW_YORK, "2026-03-08T07:00:00"),
    (NEW_YORK, "2026-11-01T06:00:00"),
    (BERLIN, "2027-03-28T01:00:00"),
    (BERLIN, "2027-10-31T01:00:00"),
    (NEW_YORK, "2027-03-14T07:00:00"),
    (NEW_YORK, "2027-11-07T06:00:00"),
]

EXPRESSIONS = [
    "* * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "30 * * * *",
    "*/7 2 * * *",
    "*/20 1-3 * * *",
    "30 2 * * *",
    "0 6 * * *",
    "0 0 * * *",
    "0,30 1-3 * * *",
    "59 1 * * *",
    "0 2,3 * * *",
    "45 1,2 * * SUN",
    "10 2 * * 1-6",
]


def matcher(fields: str) -> Callable[[datetime], bool]:
    """Whether a wall-clock time matches: croniter's value sets, compared one by one."""
    sets = [
        None if values == ["*"] else {int(v) for v in values}
        for values in croniter.expand(fields)[0]
    ]
    minutes, hours, days, months, weekdays = sets

    def match(wall: datetime) -> bool:
        if minutes is not None and wall.minute not in minutes:
            return False
        if hours is not None and wall.hour not in hours:
            return False
        if months is not None and wall.month not in months:
            return False
        day_ok = days is None or wall.day in days
        weekday_ok = weekdays is None or wall.isoweekday() % 7 in weekdays
        if days is not None and weekdays is not None:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    return match


def brute_force(expression: str, zone_name: str, start: float, end: float) -> list[float]:
    """Every real minute in (start, end] that fires, by the module's rules."""
    zone = ZoneInfo(zone_name)
    match = matcher(check_expression(expression))
    minute, hour = check_expression(expression).split()[:2]
    follows_clock = "*" in minute or "*" in hour
    fires = []
    s = start - start % 60 + 60
    while s <= end:
        wall = datetime.fromtimestamp(s, zone).replace(tzinfo=None)
        first_occurrence = wall.replace(tzinfo=zone, fold=0).timestamp() == s
        fire = match(wall) and (follows_clock or first_occurrence)
        before = datetime.fromtimestamp(s - 60, zone).replace(tzinfo=None)
        if not fire and not follows_clock and wall - before > timedelta(minutes=1):
            # s ends a gap: the wall times skipped over fire here, once.
            skipped = before + timedelta(minutes=1)
            while skipped < wall and not fire:
                fire = match(skipped)
                skipped += timedelta(minutes=1)
        if fire:
            fires.append(s)
        s += 60
    return fires


@pytest.mark.parametrize(("zone", "when"), TRANSITIONS)
def test_brute_force_agreement_around_transitions(zone: str, when: str) -> None:
    transition = utc(when)
    offsets = {datetime.fromtimestamp(transition + d, ZoneInfo(zone)).utcoffset() for d in (-1, 0)}
    assert len(offsets) == 2, "the test data must straddle a real transition"
    start, end = transition - 3.5 * 86400, transition + 3.5 * 86400
    for expression in EXPRESSIONS:
        expected = brute_force(expression, zone, start, end)
        schedule = CronSchedule(expression, zone)
        got = schedule.times_between(start, end, 20000)
        assert got == expected, (expression, zone, when)
        # next_after from arbitrary points, dense around the transition.
        probes = [start + i * 2227.5 for i in range(int((end - start) / 2227.5))]
        probes += [transition + i * 61.25 for i in range(-200, 200)]
        probes += [t - 0.25 for t in expected[:: max(1, len(expected) // 200)]]
        index = 0
        for probe in sorted(probes):
            while index < len(expected) and expected[index] <= probe:
                index += 1
            if index < len(expected):
                assert schedule.next_after(probe) == expected[index], (expression, zone, probe)


# -- intervals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("*/1 * * * *", 60),
        ("* * * * *", 60),
        ("0,1 6 * * *", 60),
        ("*/15 * * * *", 900),
        ("0 * * * *", 3600),
        ("0 6 * * *", 86400),
        ("0 6,18 * * *", 43200),
        ("0 23 * * *", 86400),
        ("50 23 * * *", 86400),
        ("0 0 * * 0", 7 * 86400),
        ("0 9 * * MON-FRI", 86400),
        ("0 0 1 * *", 28 * 86400),  # February
        ("0 0 1,15 * MON", 86400),  # e.g. Monday then Tuesday the 1st
        ("55 23 * * 1,2", 86400),
        ("30 23 1 * *", 28 * 86400),
        ("0 22-23 * * *", 3600),
        ("0 0,23 * * *", 3600),  # 23:00 then midnight
        ("@yearly", 365 * 86400),
        ("0 0 29 2 *", 4 * 365 * 86400 + 86400),
    ],
)
def test_min_interval(expression: str, seconds: int) -> None:
    for zone in ("UTC", BERLIN):  # nominal: daylight saving does not change it
        assert CronSchedule(expression, zone).min_interval() == seconds


def test_min_interval_matches_stepping_through_a_year() -> None:
    for expression in ("5,50 7,8 * * TUE,THU", "0 12 1,2,28 * *", "*/25 22-23 * * 0,6"):
        schedule = CronSchedule(expression, "UTC")
        times = schedule.times_between(utc("2026-01-01T00:00:00"), utc("2027-01-01T00:00:00"), 5000)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert schedule.min_interval() == min(gaps)


def test_equality_and_repr() -> None:
    assert CronSchedule("@daily", BERLIN) == CronSchedule("0 0 * * *", BERLIN)
    assert CronSchedule("@daily", BERLIN) != CronSchedule("@daily", "UTC")
    assert len({CronSchedule("@daily", BERLIN), CronSchedule("0 0 * * *", BERLIN)}) == 1
    assert repr(CronSchedule("0 6 * * *", BERLIN)) == "CronSchedule('0 6 * * *', 'Europe/Berlin')"
