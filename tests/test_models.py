"""``iso_utc``: every timestamp the API answers, in UTC, milliseconds, ``Z``."""

import datetime
import zoneinfo

import pytest

from myapp.models import iso_utc

MOMENT = datetime.datetime(2026, 12, 5, 11, 0, 0, 123999)  # in UTC


@pytest.mark.parametrize("moment", [
    MOMENT,  # SQLite: naive, stored in UTC
    MOMENT.replace(tzinfo=datetime.timezone.utc),
    MOMENT.replace(tzinfo=zoneinfo.ZoneInfo("Etc/UTC")),  # psycopg, a UTC session
    MOMENT.replace(tzinfo=datetime.timezone.utc).astimezone(zoneinfo.ZoneInfo("Europe/Paris")),
    MOMENT.replace(tzinfo=datetime.timezone.utc).astimezone(zoneinfo.ZoneInfo("America/St_Johns")),
], ids=["naive", "utc", "Etc/UTC", "Europe/Paris", "America/St_Johns"])
def test_the_same_moment_reads_the_same_in_any_zone_and_milliseconds_are_truncated(moment):
    assert iso_utc(moment) == "2026-12-05T11:00:00.123Z"


def test_a_whole_second_keeps_its_milliseconds():
    assert iso_utc(MOMENT.replace(microsecond=0)) == "2026-12-05T11:00:00.000Z"
