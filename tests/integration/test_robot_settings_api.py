"""The tenant's robot settings through the API (working time and throttle: read, replaced whole,
refused with the reason when they cannot work), what the planner and runner read of them
(``for_tenant``, kept a minute by a warm container), and robot delays set through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.gateway import Gateway

PATH = "/automation/robot-settings"
NINE_TO_SIX = {"start": "09:00", "end": "18:00"}
DEFAULTS = {
    "schedule": {
        "time_zone": "UTC",
        "working_hours": {
            **dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), NINE_TO_SIX),
            "sat": None,
            "sun": None,
        },
        "holidays": None,
        "days_off": [],
        "working_days": [],
    },
    "runs_per_minute": 600,
}
BAVARIAN_SHOP = {
    "schedule": {
        "time_zone": "Europe/Berlin",
        "working_hours": {
            "mon": NINE_TO_SIX,
            "tue": NINE_TO_SIX,
            "wed": NINE_TO_SIX,
            "thu": NINE_TO_SIX,
            "fri": {"start": "09:00", "end": "15:00"},
            "sat": {"start": "10:00", "end": "14:00"},
        },
        "holidays": {"country": "DE", "subdivision": "BY"},
        "days_off": ["2026-12-31", "2026-12-24"],
        "working_days": ["2026-12-27"],
    },
    "runs_per_minute": 120,
}


@pytest.fixture
def crm(aws):
    from crm.domain import clock
    from crm.service.tenants import create_tenant

    stopped = clock.FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    clock.use_clock(stopped)
    yield {"gateway": Gateway(), "key": create_tenant("Demo", "demo").api_key, "clock": stopped}
    clock.use_clock(clock.SystemClock())


def api(crm, method: str, path: str, body=None):
    return crm["gateway"].call(method, path, body, crm["key"])


def test_a_tenant_that_set_nothing_reads_the_defaults(crm):
    answer = api(crm, "GET", PATH)
    assert answer.status == 200, answer.body
    assert answer.body == {**DEFAULTS, "updated_at": None}


def test_the_settings_are_replaced_whole_and_read_back(crm):
    put = api(crm, "PUT", PATH, BAVARIAN_SHOP)
    assert put.status == 200, put.body
    stored = {
        **BAVARIAN_SHOP,
        "schedule": {
            **BAVARIAN_SHOP["schedule"],
            "working_hours": {**BAVARIAN_SHOP["schedule"]["working_hours"], "sun": None},
            "days_off": ["2026-12-24", "2026-12-31"],
        },
    }
    assert put.body == {**stored, "updated_at": "2026-03-02T09:00:00Z"}
    assert api(crm, "GET", PATH).body == put.body
    # Full replace: what a PUT leaves out is the default again.
    crm["clock"].advance(timedelta(minutes=5))
    reset = api(crm, "PUT", PATH, {"runs_per_minute": 50})
    assert reset.status == 200, reset.body
    assert reset.body == {**DEFAULTS, "runs_per_minute": 50, "updated_at": "2026-03-02T09:05:00Z"}
    assert api(crm, "GET", PATH).body == reset.body


def test_for_tenant_answers_the_stored_settings(crm):
    from crm.domain.robot_settings import RobotSettings, WorkingHours
    from crm.service import robot_settings

    assert robot_settings.for_tenant("demo") == RobotSettings()
    assert api(crm, "PUT", PATH, BAVARIAN_SHOP).status == 200
    settings = robot_settings.for_tenant("demo")  # this container's own change: at once
    assert settings.runs_per_minute == 120 and settings.schedule.time_zone == "Europe/Berlin"
    assert settings.schedule.hours[4] == WorkingHours("09:00", "15:00")
    assert settings.schedule.is_holiday(datetime(2026, 1, 6).date())  # Epiphany in Bavaria
    assert settings.to_dict() == {**api(crm, "GET", PATH).body, "updated_at": "2026-03-02T09:00:00+00:00"}


def test_a_warm_container_keeps_the_settings_a_minute(crm):
    from crm.adapters import robot_settings as store
    from crm.domain.robot_settings import RobotSettings
    from crm.service import robot_settings

    assert robot_settings.for_tenant("demo").runs_per_minute == 600
    # Another container changes them: this one keeps what it read for a minute, then reads again.
    store.save("demo", RobotSettings(runs_per_minute=30))
    crm["clock"].advance(timedelta(seconds=59))
    assert robot_settings.for_tenant("demo").runs_per_minute == 600
    crm["clock"].advance(timedelta(seconds=1))
    assert robot_settings.for_tenant("demo").runs_per_minute == 30


def test_settings_are_the_tenants_own(crm):
    from crm.service import robot_settings
    from crm.service.tenants import create_tenant

    other = create_tenant("Other", "other").api_key
    assert api(crm, "PUT", PATH, BAVARIAN_SHOP).status == 200
    assert crm["gateway"].call("GET", PATH, key=other).body == {**DEFAULTS, "updated_at": None}
    assert robot_settings.for_tenant("other").runs_per_minute == 600


def schedule(**changes) -> dict:
    return {"schedule": {**BAVARIAN_SHOP["schedule"], **changes}}


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        (schedule(time_zone="Mars/Olympus"), "'Mars/Olympus' is not an IANA time zone"),
        (schedule(time_zone="Europe"), "'Europe' is not an IANA time zone"),
        (schedule(holidays={"country": "XX"}), "'XX' is not a country of the holiday calendar"),
        (schedule(holidays={"country": "DE", "subdivision": "ZZ"}), "'ZZ' is not a subdivision of DE"),
        (schedule(holidays={"country": "Germany"}), "holidays.country"),
        (schedule(working_hours={"mon": {"start": "18:00", "end": "09:00"}}), "start must be before the end"),
        (schedule(working_hours={"mon": {"start": "9:00", "end": "18:00"}}), "working_hours.mon.start"),
        (schedule(working_hours={"monday": NINE_TO_SIX}), "monday"),
        (schedule(days_off=["2026-12-27"]), "2026-12-27 is both a day off and a working day"),
        (schedule(days_off=["2026-02-30"]), "'2026-02-30' is not a date"),
        (schedule(days_off=["2026-01-01"] * 1001), "days_off"),
        ({"runs_per_minute": 0}, "runs_per_minute"),
        ({"runs_per_minute": 10_001}, "runs_per_minute"),
        ({"runs_per_minute": "600"}, "runs_per_minute"),
        ({"schedule": {"zone": "UTC"}}, "zone"),
        ({"throttle": 5}, "throttle"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_422_and_change_nothing(crm, body, message_part):
    answer = api(crm, "PUT", PATH, body)
    assert answer.status == 422, answer.body
    assert message_part in answer.body["message"] or message_part in str(answer.body.get("errors"))
    assert api(crm, "GET", PATH).body["updated_at"] is None


def test_the_settings_paths_take_get_and_put_only(crm):
    answer = api(crm, "DELETE", PATH)
    assert answer.status == 405 and answer.headers["Allow"] == "GET, PUT"


# ---------------------------------------------------------------- robot delays through the API


@pytest.fixture
def robots(crm):
    """A pipeline with a robot type registered for the test (the robots issue registers the real ones)."""
    from pydantic import BaseModel, ConfigDict

    from crm.domain.rules import CATALOGUE, RuleKind, RuleType
    from crm.service import configuration

    class NoteParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        text: str = "Call the client"

    class NoteOutputs(BaseModel):
        pass

    CATALOGUE.register(
        RuleType("test_note", RuleKind.ROBOT, "Note", NoteParams, run=lambda *_: {}, outputs=NoteOutputs)
    )
    stages = [{"id": "new", "name": "New"}, {"name": "Won", "semantic": "success"}]
    configuration.create_pipeline(
        "demo", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": stages}
    )
    deal_fields = [
        {"code": "deadline", "name": "Deadline", "type": "date"},
        {"code": "note", "name": "Note", "type": "string"},
    ]
    configuration.update_item_type("demo", "deal", {"fields": deal_fields})
    yield "/automation/deal/sales/robots"
    # Only the test's own type goes: the catalogue loads the others once, on first use.
    CATALOGUE.unregister(RuleKind.ROBOT, "test_note")


def robot(delay: dict) -> dict:
    return {"type_code": "test_note", "stage_id": "new", "delay": delay}


@pytest.mark.parametrize(
    ("field", "reason"),
    [("due", "deal has no field 'due'"), ("note", "'note' is a string field, not a date or datetime one")],
)
def test_a_delay_from_a_field_that_is_no_date_field_of_the_type_is_refused(crm, robots, field, reason):
    delay = {"kind": "after_field", "amount": 1, "unit": "days", "field": field}
    refused = api(crm, "POST", robots, robot(delay))
    assert (refused.status, refused.body["message"]) == (422, f"delay.field: {reason}")


def test_a_robot_takes_a_delay_in_units_and_shows_it(crm, robots):
    delay = {"kind": "before_field", "amount": 1, "unit": "days", "field": "deadline", "working_time": True}
    created = api(crm, "POST", robots, robot(delay))
    assert created.status == 201, created.body
    assert created.body["delay"] == {**delay, "time_of_day": None}
    at_ten = {"kind": "at_time", "amount": 2, "unit": "days", "time_of_day": "10:00"}
    updated = api(crm, "PUT", f"{robots}/{created.body['id']}", robot(at_ten))
    assert updated.status == 200, updated.body
    assert updated.body["delay"] == {**at_ten, "field": None, "working_time": False}
    listed = api(crm, "GET", "/automation/deal/sales").body["robots"]
    assert [r["delay"] for r in listed] == [updated.body["delay"]]


def test_a_delay_in_minutes_the_old_way_is_an_amount_in_minutes(crm, robots):
    created = api(crm, "POST", robots, robot({"kind": "after", "minutes": 90}))
    assert created.status == 201, created.body
    assert created.body["delay"] == {
        "kind": "after",
        "amount": 90,
        "unit": "minutes",
        "field": None,
        "time_of_day": None,
        "working_time": False,
    }


@pytest.mark.parametrize(
    ("delay", "message_part"),
    [
        ({"kind": "after", "minutes": 5, "amount": 5}, "not both"),
        ({"kind": "after", "minutes": 5, "unit": "hours"}, "not both"),
        ({"kind": "at_time"}, "needs time_of_day"),
        ({"kind": "at_time", "time_of_day": "24:00"}, "time_of_day"),
        ({"kind": "before_field", "amount": 1, "unit": "days"}, "needs field"),
        ({"kind": "after", "amount": 366, "unit": "days"}, "at most a year"),
        ({"kind": "after", "amount": 1, "unit": "weeks"}, "unit"),
        ({"kind": "immediate", "amount": 5}, "takes no amount"),
    ],
)
def test_a_delay_that_cannot_work_is_refused_with_422(crm, robots, delay, message_part):
    answer = api(crm, "POST", robots, robot(delay))
    assert answer.status == 422, answer.body
    assert message_part in answer.body["message"] or message_part in str(answer.body.get("errors"))
    assert api(crm, "GET", "/automation/deal/sales").body["robots"] == []
