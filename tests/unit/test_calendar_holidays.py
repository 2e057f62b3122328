"""A calendar's public holidays come from the one country's module of the `holidays` package (not its
whole list of countries, which a console would hold in memory for nothing): the same dates as the
package's own lookup, the same refusals for unknown codes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import holidays
import pytest

from deskconsole.domain.calendar import BusinessCalendar, CalendarError

# (IL, CN, SA, IN, TH: countries whose holidays follow the Hebrew, Chinese, Islamic, Hindu and Thai
# calendars, which the package's calendars and groups load only when a country asks for them)
CODES = ["DE", "DE-BY", "US", "US-CA", "GB", "FR", "AT", "JP", "AU-NSW", "IL", "CN", "SA", "IN", "TH"]

PROBE = """
import json, sys
from datetime import date
from deskconsole.domain.calendar import BusinessCalendar
out = {}
for code in sys.argv[1:]:
    cal = BusinessCalendar.build("c", "UTC", "mon-fri 09:00-17:00", [code])
    days = [date(2025, 1, 1).toordinal() + i for i in range(3 * 366)]
    out[code] = [d for d in days if cal.is_closed_date(date.fromordinal(d))]
out["countries loaded"] = sum(m.startswith("holidays.countries.") for m in sys.modules)
out["calendars loaded"] = sorted(m for m in sys.modules if m.startswith(("holidays.calendars.", "holidays.groups.")))
print(json.dumps(out))
"""


def test_holidays_are_the_packages_and_only_one_country_is_loaded() -> None:
    run = subprocess.run([sys.executable, "-c", PROBE, *CODES], capture_output=True, text=True, check=True)
    got = json.loads(run.stdout)
    for code in CODES:
        country, _, sub = code.partition("-")
        expected = holidays.country_holidays(country, subdiv=sub or None)
        days = [date(2025, 1, 1).toordinal() + i for i in range(3 * 366)]
        assert got[code] == [d for d in days if date.fromordinal(d) in expected], code
    assert got["countries loaded"] <= len(CODES) + 2  # (a territory's module may load its country's)


def test_a_holiday_closes_the_day() -> None:
    cal = BusinessCalendar.build("de", "Europe/Berlin", "mon-fri 09:00-17:00", ["DE-BY"])
    assert cal.is_closed_date(date(2026, 1, 6))  # Epiphany, in Bavaria
    assert not cal.is_closed_date(date(2026, 1, 7))


@pytest.mark.parametrize(("code", "words"), [
    ("XX", "unknown holiday country"),
    ("DE-ZZ", "unknown holiday subdivision 'ZZ' of DE"),
    ("ZZ-BY", "unknown holiday country"),
])
def test_unknown_codes_are_refused_as_before(code: str, words: str) -> None:
    with pytest.raises(CalendarError, match=words):
        BusinessCalendar.build("c", "UTC", "mon-fri 09:00-17:00", [code])


def test_a_country_loads_only_the_calendars_its_holidays_follow() -> None:
    """Germany's holidays follow the Gregorian, Julian and Ethiopian reckonings (Easter and its
    feasts): the Chinese, Hebrew, Islamic, ... calendars (about 3.5 MB) stay unloaded."""
    run = subprocess.run([sys.executable, "-c", PROBE, "DE"], capture_output=True, text=True, check=True)
    loaded = set(json.loads(run.stdout)["calendars loaded"])
    assert "holidays.groups.christian" in loaded
    for system in ("chinese", "hebrew", "islamic", "hindu", "thai", "persian", "buddhist"):
        assert f"holidays.calendars.{system}" not in loaded, system
        assert f"holidays.groups.{system}" not in loaded, system
