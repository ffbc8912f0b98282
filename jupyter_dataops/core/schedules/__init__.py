"""Schedules: run a parameterized notebook on a cron expression in an IANA time zone."""
