"""Feature tables from words, as the hybrid path asks the model: measures over the days
ending on the logical date, a row's age in days, and the join of two upstream feature
tables, each decided by what the description states (nothing left to a small model's
pick where the words say it).

The spec is written for these tests (app members and logins), not copied from
``specs/``; each task's output is rendered and handed to the tasks after it, as
generation does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from airflow_llm.hybrid import forced_properties
from airflow_llm.patterns import (
    Relation,
    TaskContext,
    context_for,
    pattern_menu,
    pattern_named,
    ranked_pattern_names,
)
from airflow_llm.spec import PipelineSpec

SPEC = {
    "name": "member_features",
    "description": "Activity and profile features of app members.",
    "dialect": "duckdb",
    "sources": [
        {
            "name": "app.members",
            "columns": {"member_id": "BIGINT", "tier": "VARCHAR", "country": "VARCHAR",
                        "joined_on": "DATE"},
        },
        {
            "name": "app.logins",
            "columns": {"member_id": "BIGINT", "device": "VARCHAR", "login_at": "TIMESTAMP"},
        },
    ],
    "tasks": [
        {
            "name": "build_activity",
            "kind": "sql",
            "description": "Per member: logins in the last 7 and 28 days, days since last "
            "login, distinct devices in 28 days, into member_activity.",
        },
        {
            "name": "build_profile",
            "kind": "sql",
            "description": "Per member: tenure in days, tier, country, into member_profile.",
        },
        {
            "name": "join_features",
            "kind": "sql",
            "depends_on": ["build_activity", "build_profile"],
            "description": "Join both feature tables on member_id into member_features for "
            "the date {{ ds }}.",
        },
        {
            "name": "check_features",
            "kind": "quality",
            "depends_on": "join_features",
            "description": "member_features has one row per member_id, tenure_days >= 0, "
            "and fewer than 1% nulls in every activity column.",
        },
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def spec() -> PipelineSpec:
    return PipelineSpec.model_validate(SPEC)


def context(spec: PipelineSpec, task: str, outputs: dict[str, Relation]) -> TaskContext:
    found = next(t for t in spec.tasks or [] if t.name == task)
    return context_for(spec, found, outputs)


def decided(ctx: TaskContext, name: str) -> dict[str, Any]:
    """The answer when every question the pattern asks has one possible answer, but for
    the name of the logical-date column (its first option, as a small model picks)."""
    pattern = pattern_named(name)
    inputs = forced_properties(pattern.input_schema(ctx))
    schema = pattern.parameter_schema(ctx, inputs)
    parameters = forced_properties(schema)
    asked = {key: value for key, value in schema["properties"].items() if key not in parameters}
    assert set(asked) <= {"date_column"}, "the model is asked more than a name"
    named = {key: value["enum"][0] for key, value in asked.items()}
    return pattern.complete({**inputs, **parameters, **named}, ctx)


def rendered(ctx: TaskContext, name: str, answer: dict[str, Any]) -> tuple[str, Relation]:
    pattern = pattern_named(name)
    result = pattern.render(pattern.parse(answer), ctx)
    assert result.output is not None
    return result.content, result.output


def test_measures_over_days_are_stated_and_named(spec: PipelineSpec) -> None:
    ctx = context(spec, "build_activity", {})
    assert pattern_menu(ctx) == ["aggregate"]
    answer = decided(ctx, "aggregate")
    assert answer["source"] == "app.logins"
    assert answer["lookup"] == "none"
    assert answer["time_column"] == "login_at"
    assert [(m["function"], m["column"], m.get("within_days"), m["name"]) for m in answer[
        "measures"
    ]] == [
        ("count", "*", 7, "login_count_7d"),
        ("count", "*", 28, "login_count_28d"),
        ("days_since_latest", "login_at", None, "days_since_last_login"),
        ("count_distinct", "device", 28, "distinct_device_count_28d"),
    ]  # fmt: skip
    sql, output = rendered(ctx, "aggregate", answer)
    assert "CAST(login_at AS DATE) <= CAST('{{ ds }}' AS DATE)" in sql  # no day filter
    assert "COUNT( DISTINCT CASE" in " ".join(sql.split())
    assert "DATE_DIFF('DAY', MAX(" in sql
    assert output.column_names[:2] == ["member_id", "as_of_date"]


def test_a_repair_may_answer_any_measure(spec: PipelineSpec) -> None:
    ctx = dataclasses.replace(context(spec, "build_activity", {}), repairing=True)
    schema = pattern_named("aggregate").parameter_schema(ctx, {"source": "app.logins"})
    assert "properties" in schema["properties"]["measures"]["items"]  # function and column


def test_a_rolling_window_refuses_measures_over_days(spec: PipelineSpec) -> None:
    ctx = context(spec, "build_activity", {})
    pattern = pattern_named("rolling_window")
    measure = {"function": "count", "column": "*", "within_days": 7, "name": "n"}
    answer = {"source": "app.logins", "keys": ["member_id"], "time_column": "login_at",
              "days": 7, "measures": [measure], "date_column": "as_of_date"}  # fmt: skip
    with pytest.raises(ValueError, match="rolling windows roll"):
        pattern.render(pattern.parse(answer), ctx)


def test_every_row_with_its_age_in_days(spec: PipelineSpec) -> None:
    ctx = context(spec, "build_profile", {})
    assert pattern_menu(ctx) == ["snapshot"]
    answer = decided(ctx, "snapshot")
    assert answer["source"] == "app.members"  # the table whose columns the words name
    assert answer["day_counts"] == [{"column": "joined_on", "name": "tenure_days"}]
    assert answer["distinct"] is True  # one row per member
    sql, output = rendered(ctx, "snapshot", answer)
    assert "WHERE" not in sql.split("INSERT", 1)[1]  # every row, not the day's
    assert "DATE_DIFF('DAY', joined_on, CAST('{{ ds }}' AS DATE)) AS tenure_days" in sql
    assert "tenure_days" in output.column_names


def test_both_feature_tables_are_joined_on_the_stated_key(spec: PipelineSpec) -> None:
    outputs: dict[str, Relation] = {}
    for task, pattern in (("build_activity", "aggregate"), ("build_profile", "snapshot")):
        ctx = context(spec, task, outputs)
        outputs[task] = rendered(ctx, pattern, decided(ctx, pattern))[1]
    ctx = context(spec, "join_features", outputs)
    assert pattern_menu(ctx) == ["join_enrich"]
    inputs = forced_properties(pattern_named("join_enrich").input_schema(ctx))
    assert inputs == {"left": "member_activity", "right": "member_profile"}
    schema = pattern_named("join_enrich").parameter_schema(ctx, inputs)
    assert "member_activity.member_id = member_profile.member_id" in (
        schema["properties"]["on"]["items"]["enum"]
    )


def test_every_activity_column_is_checked_not_the_last_one_named(spec: PipelineSpec) -> None:
    outputs: dict[str, Relation] = {}
    for task, pattern in (
        ("build_activity", "aggregate"),
        ("build_profile", "snapshot"),
        ("join_features", "join_enrich"),
    ):
        ctx = context(spec, task, outputs)
        outputs[task] = rendered(ctx, pattern, decided(ctx, pattern))[1]
    ctx = context(spec, "check_features", outputs)
    answer = decided(ctx, "expectations")
    assert answer["table"] == "member_features"
    assert answer["expectations"] == [
        "unique(member_id)",
        "between(tenure_days, min=0.0)",
        *[
            f"not_null({name}, mostly=0.99)"
            for name in ("as_of_date", "login_count_7d", "login_count_28d",
                         "days_since_last_login", "distinct_device_count_28d")
        ],
    ]  # fmt: skip
    suite = pattern_named("expectations").render(pattern_named("expectations").parse(answer), ctx)
    assert '"mostly": 0.99' in suite.content


def test_every_row_ranks_before_the_days_rows_when_the_words_name_no_date() -> None:
    spec = PipelineSpec.model_validate(
        {
            **SPEC,
            "tasks": [
                {
                    "name": "store_profile",
                    "kind": "sql",
                    "description": "Per store: region and manager into store_profile.",
                }
            ],
            "sources": [
                {
                    "name": "ops.stores",
                    "columns": {
                        "store_id": "BIGINT",
                        "country": "VARCHAR",
                        "manager": "VARCHAR",
                        "opened_at": "TIMESTAMP",
                    },
                }
            ],
        }
    )
    ranked = ranked_pattern_names(context(spec, "store_profile", {}))
    assert ranked.index("copy_interval") - ranked.index("snapshot") == 1


def test_rows_of_a_table_named_in_several_words() -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "visitor_features",
            "description": "Features of web visitors.",
            "sources": [
                {
                    "name": "web.page_views",
                    "columns": {"visitor_id": "BIGINT", "url": "VARCHAR", "viewed_at": "TIMESTAMP"},
                }
            ],
            "tasks": [
                {
                    "name": "build_visitor_features",
                    "kind": "sql",
                    "description": "Per visitor: page views in the last 7 days, distinct urls "
                    "in 30 days, into visitor_features.",
                }
            ],
        }
    )
    answer = decided(context(spec, "build_visitor_features", {}), "aggregate")
    assert [(m["column"], m["name"]) for m in answer["measures"]] == [
        ("*", "page_view_count_7d"),
        ("url", "distinct_url_count_30d"),
    ]


def test_most_common_is_no_filter_and_a_lookup_is_never_the_source() -> None:
    spec = PipelineSpec.model_validate(
        {
            **SPEC,
            "tasks": [
                *SPEC["tasks"][:1],
                {
                    "name": "digest",
                    "kind": "sql",
                    "depends_on": ["build_activity"],
                    "description": "Summarise the most common devices into a short digest.",
                },
            ],
        }
    )
    outputs: dict[str, Relation] = {}
    ctx = context(spec, "build_activity", outputs)
    outputs["build_activity"] = rendered(ctx, "aggregate", decided(ctx, "aggregate"))[1]
    ctx = context(spec, "digest", outputs)
    schema = pattern_named("snapshot").parameter_schema(ctx, {"source": "member_activity"})
    assert "filters" not in schema["properties"]
    inputs = pattern_named("aggregate").input_schema(ctx)["properties"]
    assert inputs["source"]["enum"] == ["member_activity"]
    assert "member_activity" not in inputs["lookup"]["enum"]
