"""The schedule and upstream Assets a description's words state (a table of phrasings),
and a Markdown spec without front matter getting them."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.schedule_words import stated_assets, stated_schedule
from airflow_llm.spec_loading import load_spec


@pytest.mark.parametrize(
    ("text", "schedule"),
    [
        ("- Schedule: @daily (runs once per day)", "@daily"),
        ("Scheduling: daily execution (@hourly overrides nothing)", "@hourly"),
        ("The DAG is scheduled with cron `30 6 * * 1-5` in UTC.", "30 6 * * 1-5"),
        ("Schedule: every hour on the hour", "@hourly"),
        ("It is scheduled to run once a week.", "@weekly"),
        ("Schedule: monthly, on the first", "@monthly"),
        ("- Schedule: None (manual trigger only)", None),
        ("Manually triggered (schedule_interval=None); runs daily in practice", "@daily"),
        ("schedule_interval: None (manually triggered)", None),
        ("Sensor mode: reschedule, poke every day", None),
        ("Loads orders daily into the warehouse.", None),
        ("Schedule: Not specified in the code", None),
        ("Schedule: @sometimes\nSchedule: @weekly", "@weekly"),
        ("Schedule: 99 99 * * *\nthen schedule it nightly", "@daily"),
    ],
)
def test_the_first_line_about_a_schedule_decides(text: str, schedule: str | None) -> None:
    assert stated_schedule(text) == schedule


@pytest.mark.parametrize(
    ("text", "assets"),
    [
        ('- Schedule: Triggered by Dataset "orders_landed"', ["orders_landed"]),
        ("Scheduled on Asset('s3://lake/orders') updates", ["s3://lake/orders"]),
        ("Triggered when the assets `a` and `b` are updated", ["a", "b"]),
        ('Triggered by Dataset "x". It runs at "noon".', ["x"]),
        ('Input: Dataset trigger "x"\nSchedule: Dataset "x" and Asset "y"', ["x", "y"]),
        ('Reads the dataset "x" every day', []),
        ("Schedule: @daily", []),
    ],
)
def test_assets_quoted_on_a_line_about_the_trigger(text: str, assets: list[str]) -> None:
    assert stated_assets(text) == assets


def test_a_markdown_description_gets_its_stated_schedule_and_assets(tmp_path: Path) -> None:
    body = (
        "# Orders rollup\n\nRoll up the day's orders.\n\n"
        '- Schedule: @daily, and triggered by Dataset "orders_landed"\n'
    )
    (tmp_path / "rollup.md").write_text(body)
    spec = load_spec(tmp_path / "rollup.md")
    assert (spec.schedule, spec.upstream_assets) == ("@daily", ["orders_landed"])


def test_front_matter_wins_over_the_words(tmp_path: Path) -> None:
    text = "---\nschedule: '0 7 * * *'\nupstream_assets: []\n---\nSchedule: @hourly, Asset 'x'\n"
    (tmp_path / "rollup.md").write_text(text)
    spec = load_spec(tmp_path / "rollup.md")
    assert (spec.schedule, spec.upstream_assets) == ("0 7 * * *", [])
