"""Branches over a file and their paths: the routes read from the words of a branch and
of the tasks after it (a column compared with a number, the values of a column), which
tasks ``branch_on_file`` and the file patterns serve (and which they leave to others),
the questions they ask, what they refuse, the DuckDB query of a branch run on real
files, and what a merge after the paths does with a path's missing file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from airflow_llm.patterns import (
    ParameterError,
    Relation,
    TaskContext,
    context_for,
    pattern_menu,
    pattern_named,
    ranked_pattern_names,
)
from airflow_llm.patterns.file_operations import FilterRows
from airflow_llm.patterns.file_routes import Route, path_filters, stated_routing
from airflow_llm.patterns.operators import BoundOperator
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.sample_files import required_columns
from tests.integration.test_file_branch_gates import PATTERNS, SPEC
from tests.integration.test_file_gates import first_answer
from tests.unit.test_pattern_applies import step_context

BRANCH_ON_FILE, FILE_TRANSFORM, MERGE_FILES = (
    pattern_named(name) for name in ("branch_on_file", "file_transform", "merge_files")
)


def planned(spec: PipelineSpec = SPEC) -> tuple[dict[str, TaskContext], dict[str, Any]]:
    """Every task's context and its pattern's parameters, answered with the first option
    of every question, upstream tasks first (as generation does)."""
    outputs: dict[str, Relation] = {}
    contexts, parameters = {}, {}
    for task in spec.tasks or []:
        ctx = context_for(spec, task, outputs)
        contexts[task.name] = ctx
        pattern = pattern_named(PATTERNS[task.name])
        inputs = first_answer(pattern.input_schema(ctx))
        answer = {**inputs, **first_answer(pattern.parameter_schema(ctx, inputs))}
        parameters[task.name] = pattern.parse(pattern.complete(answer, ctx))
        done = pattern.render(parameters[task.name], ctx)
        if done.output is not None:
            outputs[task.name] = done.output
    return contexts, parameters


CONTEXTS, PARAMETERS = planned()


def branch_spec(branch: str, *paths: tuple[str, str], writer: str | None = None) -> PipelineSpec:
    """A file step (``writer``'s words), a branch after it and its paths."""
    read = writer or "Read the orders.csv file with headers (order_id, region, amount)."
    tasks = [
        {"name": "read_orders", "kind": "python", "description": read},
        {"name": "route", "kind": "branch", "depends_on": ["read_orders"], "description": branch},
    ]
    tasks += [
        {"name": name, "kind": "python", "depends_on": ["route"], "description": words}
        for name, words in paths
    ]
    return PipelineSpec.model_validate({"name": "p", "description": "d", "tasks": tasks})


def branch_ctx(spec: PipelineSpec, name: str = "route") -> TaskContext:
    task = next(task for task in spec.tasks or [] if task.name == name)
    return context_for(
        spec, task, {"read_orders": Relation("read_orders", (), "read_orders", "csv")}
    )


def test_a_comparison_chooses_the_tasks_whose_words_agree_and_the_rest_run_otherwise() -> None:
    routing = stated_routing(CONTEXTS["check_amounts"])
    assert routing is not None
    assert routing.routes == (
        Route(tasks=["review_large"], column="amount", comparison=">", value=100),
    )
    assert routing.otherwise == ("pass_small",)


def test_values_of_a_column_choose_one_task_each_and_the_last_runs_otherwise() -> None:
    routing = stated_routing(CONTEXTS["check_tier"])
    assert routing is not None
    assert [(r.tasks, r.column, r.comparison, r.value) for r in routing.routes] == [
        (["handle_gold"], "customer_tier", "=", "gold"),
        (["handle_basic"], "customer_tier", "=", "basic"),
    ]
    assert routing.otherwise == ("handle_basic",)


@pytest.mark.parametrize(
    ("branch", "paths", "expected"),
    [
        (
            "If the average amount > 250, send the orders to the big queue, else to the "
            "small one.",
            [("big", "Queue the large orders."), ("small", "Queue the smaller orders.")],
            ("avg", ["big"], ["small"]),
        ),
        (
            "When every row has amount >= 10 the orders are complete; otherwise review them.",
            [("complete", "Mark the orders complete."), ("review", "Review the orders.")],
            ("all", ["complete"], ["review"]),
        ),
        (
            "Split on amount < 5: the cheap orders are archived, the others priced.",
            [("price", "Price the orders above the threshold."), ("archive", "Archive below.")],
            ("any", ["archive"], ["price"]),
        ),
    ],
)
def test_which_rows_and_which_side_a_comparison_is_read_from_the_words(
    branch: str, paths: list[tuple[str, str]], expected: tuple[str, list[str], list[str]]
) -> None:
    routing = stated_routing(branch_ctx(branch_spec(branch, *paths)))
    assert routing is not None
    rows, chosen, otherwise = expected
    assert (routing.routes[0].rows, routing.routes[0].tasks) == (rows, chosen)
    assert list(routing.otherwise) == otherwise


@pytest.mark.parametrize(
    "branch",
    [
        "Decide which region team handles the batch.",  # no values: nothing to route by
        "Pick the path at random.",
        "Route by region.",  # a column, but no value the paths name
    ],
)
def test_words_that_state_no_condition_on_the_rows_route_nothing(branch: str) -> None:
    spec = branch_spec(branch, ("east", "Handle the orders."), ("west", "Handle the orders."))
    assert stated_routing(branch_ctx(spec)) is None
    assert "branch_on_file" not in pattern_menu(branch_ctx(spec))


def test_values_are_the_words_the_branch_lists_and_one_path_names() -> None:
    spec = branch_spec(
        "Send each batch to its team by region (north or south) for the regional report.",
        ("north_team", "The north team checks its orders and writes a regional report."),
        ("south_team", "The south team checks its orders."),
    )
    routing = stated_routing(branch_ctx(spec))
    assert routing is not None
    assert [(r.column, r.value, r.tasks) for r in routing.routes] == [
        ("region", "north", ["north_team"]),
        ("region", "south", ["south_team"]),
    ]


def test_no_file_before_the_branch_routes_nothing() -> None:
    spec = branch_spec("If amount > 5 go left, else right.", ("left", "Go."), ("right", "Go."))
    task = next(task for task in spec.tasks or [] if task.name == "route")
    assert stated_routing(context_for(spec, task, {})) is None


def test_the_paths_filter_the_rows_their_branch_chose_them_for() -> None:
    assert path_filters(CONTEXTS["review_large"]) == [
        FilterRows(column="amount", comparison=">", value=100)
    ]
    assert path_filters(CONTEXTS["pass_small"]) == [
        FilterRows(column="amount", comparison="<=", value=100)
    ]
    assert path_filters(CONTEXTS["handle_basic"]) == [
        FilterRows(column="customer_tier", comparison="=", value="basic")
    ]
    assert path_filters(CONTEXTS["merge_paths"]) == []
    assert [op.model_dump() for op in PARAMETERS["handle_gold"].operations] == [
        {"op": "filter", "column": "customer_tier", "comparison": "=", "value": "gold"}
    ]


def test_a_paths_own_filter_of_the_column_wins() -> None:
    spec = branch_spec(
        "If amount > 100 the orders go to review, else they pass.",
        ("review", "Review the orders with amount > 500 only; write review.csv."),
        ("accept", "Accept the small orders; write accepted.csv."),
    )
    ctx = branch_ctx(spec, "review")
    schema = FILE_TRANSFORM.parameter_schema(ctx, {"source": "read_orders"})
    assert schema["properties"]["operations"]["items"]["enum"] == [
        {"op": "filter", "column": "amount", "comparison": ">", "value": 500}
    ]


def test_the_menus_of_a_branch_merge_pipeline() -> None:
    assert {name: pattern_menu(ctx) for name, ctx in CONTEXTS.items()} == {
        name: [pattern] for name, pattern in PATTERNS.items()
    }


def test_a_path_that_tells_people_is_left_to_its_pattern() -> None:
    spec = branch_spec(
        "If amount > 100 the orders go to review, else they pass.",
        ("email_reviewers", "Email reviewers@example.com about the high orders."),
        ("accept", "Accept the small orders; write accepted.csv."),
    )
    assert pattern_menu(branch_ctx(spec, "email_reviewers")) == ["notify_email"]
    assert pattern_menu(branch_ctx(spec, "accept")) == ["file_transform"]


def test_a_notification_after_the_paths_is_no_merge_of_their_files() -> None:
    ctx = CONTEXTS["notify_finance"]
    assert [f.produced_by for f in ctx.files][-2:] == ["handle_gold", "handle_basic"]
    assert ranked_pattern_names(ctx) == ["notify_email"]
    words = "Send final notification after both paths complete • Integrations: email"
    told = ctx.task.model_copy(update={"description": words})
    spec = SPEC.model_copy(update={"tasks": [*(SPEC.tasks or [])[:-1], told]})
    assert ranked_pattern_names(context_for(spec, told, {})) == ["notify_email"]


def test_date_and_table_branches_keep_their_patterns() -> None:
    date = branch_spec(
        "On weekends take the full path, on weekdays the quick one.",
        ("full", "Full run."),
        ("quick", "Quick run."),
    )
    assert pattern_menu(branch_ctx(date)) == ["branch_on_date"]


def test_the_branch_asks_for_its_file_its_routes_and_the_tasks_run_otherwise() -> None:
    ctx = CONTEXTS["check_tier"]
    assert BRANCH_ON_FILE.input_schema(ctx)["properties"] == {"source": {"enum": ["merge_paths"]}}
    schema = BRANCH_ON_FILE.parameter_schema(ctx, {"source": "merge_paths"})
    routes = schema["properties"]["routes"]
    assert (routes["minItems"], routes["maxItems"]) == (2, 2)
    assert [route["value"] for route in routes["items"]["enum"]] == ["gold", "basic"]
    assert schema["properties"]["otherwise"]["items"] == {"enum": ["handle_basic"]}
    repairing = TaskContext(
        ctx.spec, ctx.task, ctx.relations, ctx.downstream, True, files=ctx.files
    )
    assert BRANCH_ON_FILE.parameter_schema(repairing, {})["properties"]["otherwise"]["items"] == {
        "enum": ["handle_basic", "handle_gold"]
    }


def gold(**changed: Any) -> list[dict[str, Any]]:
    """One route to handle_gold, changed so."""
    route = {"tasks": ["handle_gold"], "column": "customer_tier", "comparison": "="}
    return [{**route, "value": "gold", **changed}]


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"otherwise": ["load_payments"]}, "not downstream of check_tier"),
        ({"routes": gold(), "otherwise": ["handle_gold"]}, "never chosen"),
        ({"routes": gold(column="tier_code")}, "no column 'tier_code'"),
        ({"routes": gold(comparison=">")}, "text is only = or !="),
        ({"routes": gold(rows="avg", comparison="=")}, "no avg of text"),
        ({"source": "load_payments_x"}, "no upstream task writes a file"),
    ],
)
def test_a_branch_that_cannot_be_is_refused(changed: dict[str, Any], problem: str) -> None:
    parameters = {**PARAMETERS["check_tier"].model_dump(mode="json"), **changed}
    with pytest.raises(ParameterError, match=problem):
        BRANCH_ON_FILE.render(BRANCH_ON_FILE.parse(parameters), CONTEXTS["check_tier"])


def run_branch(task: str, params: Any, rows: list[tuple[Any, ...]], path: Path) -> list[Any]:
    """Branch ``task``'s query on a Parquet file of ``rows`` (customer_tier, amount)."""
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE t (customer_tier VARCHAR, amount DOUBLE)")
        if rows:
            connection.executemany("INSERT INTO t VALUES (?, ?)", rows)
        connection.execute(f"COPY t TO '{path}' (FORMAT parquet)")
        arguments = BRANCH_ON_FILE.arguments(params, SPEC, CONTEXTS[task].task)
        found = connection.execute(arguments["statement"], {"input_1": str(path)}).fetchone()
    assert found is not None
    return list(found)


def over(params: Any, rows: str) -> Any:
    """The branch's parameters with its one route over other rows."""
    return params.model_copy(
        update={"routes": [params.routes[0].model_copy(update={"rows": rows})]}
    )


def test_the_branch_query_flags_each_route_that_holds(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    tier = PARAMETERS["check_tier"]
    assert run_branch("check_tier", tier, [("gold", 1.0), ("other", 2.0)], path) == [True, False]
    assert run_branch("check_tier", tier, [("basic", 1.0), ("gold", None)], path) == [True, True]
    assert run_branch("check_tier", tier, [(None, 1.0)], path) == [False, False]
    assert run_branch("check_tier", tier, [], path) == [False, False]
    amounts = PARAMETERS["check_amounts"]
    assert run_branch("check_amounts", amounts, [("x", 100.0), ("y", 101.5)], path) == [True]
    assert run_branch("check_amounts", amounts, [("x", 100.0), ("y", None)], path) == [False]
    average, total, every = (over(amounts, rows) for rows in ("avg", "sum", "all"))
    assert run_branch("check_amounts", average, [("x", 100.0), ("y", 101.5)], path) == [True]
    assert run_branch("check_amounts", average, [("x", 10.0), ("y", 101.5)], path) == [False]
    assert run_branch("check_amounts", total, [("x", 60.0), ("y", 50.0)], path) == [True]
    assert run_branch("check_amounts", total, [("x", 60.0)], path) == [False]
    assert run_branch("check_amounts", every, [("x", 101.0), ("y", 102.0)], path) == [True]
    assert run_branch("check_amounts", every, [("x", 1.0), ("y", 102.0)], path) == [False]


def test_the_branch_reads_the_columns_its_routes_test_from_the_first_file() -> None:
    operators = {
        name: BoundOperator(pattern_named(PATTERNS[name]), params, CONTEXTS[name].task)
        for name, params in PARAMETERS.items()
    }
    needs = required_columns(operators)
    assert needs["check_amounts"] == {"amount": "number"}
    assert needs["check_tier"] == {"customer_tier": "text"}
    assert needs["load_payments"] == {"amount": "number", "customer_tier": "text"}


def test_a_merge_after_a_branch_stacks_the_files_that_are_there() -> None:
    merge = PARAMETERS["merge_paths"]
    arguments = MERGE_FILES.arguments(merge, SPEC, CONTEXTS["merge_paths"].task)
    assert arguments["stacked"] is True
    assert "READ_JSON_AUTO($inputs, union_by_name = TRUE)" in arguments["statement"]
    assert [(i["upstream"], i["optional"]) for i in arguments["upstream"]] == [
        ("review_large", True),
        ("pass_small", True),
    ]
    joined = merge.model_dump(mode="json") | {"combine": "join", "keys": ["payment_id"]}
    with pytest.raises(ParameterError, match="a branch may skip review_large, pass_small"):
        MERGE_FILES.render(MERGE_FILES.parse(joined), CONTEXTS["merge_paths"])
    mixed = merge.model_dump(mode="json") | {"input_formats": ["json", "csv"]}
    with pytest.raises(ParameterError, match="all of one format"):
        MERGE_FILES.render(MERGE_FILES.parse(mixed), CONTEXTS["merge_paths"])


def test_the_stacked_statement_reads_one_file_or_several(tmp_path: Path) -> None:
    merge = PARAMETERS["merge_paths"]
    statement = MERGE_FILES.arguments(merge, SPEC, CONTEXTS["merge_paths"].task)["statement"]
    large, small = tmp_path / "large.json", tmp_path / "small.json"
    large.write_text('[{"amount": 101}]')
    small.write_text('[{"amount": 1, "tier": "x"}]')
    output = tmp_path / "out.parquet"
    with duckdb.connect() as connection:
        for inputs, rows in (([large], 1), ([large, small], 2)):
            files = {"inputs": [str(path) for path in inputs], "output": str(output)}
            connection.execute(statement, files)
            counted = connection.execute(
                "SELECT count(*) FROM read_parquet($p)", {"p": str(output)}
            )
            assert counted.fetchone() == (rows,)


def test_a_path_reads_the_file_before_the_branch_by_a_pulled_xcom() -> None:
    arguments = FILE_TRANSFORM.arguments(
        PARAMETERS["review_large"], SPEC, CONTEXTS["review_large"].task
    )
    assert arguments["upstream"] == []
    assert arguments["inputs"][0]["pull"] == "{{ ti.xcom_pull(task_ids='load_payments') }}"
    tier = CONTEXTS["check_tier"].task
    branch = BRANCH_ON_FILE.arguments(PARAMETERS["check_tier"], SPEC, tier)
    assert [(i["upstream"], i["pull"]) for i in branch["upstream"]] == [("merge_paths", None)]


def test_the_branch_artifact_records_its_routes() -> None:
    done = BRANCH_ON_FILE.render(PARAMETERS["check_amounts"], CONTEXTS["check_amounts"])
    assert done.output is None
    artifact = json.loads(done.content)
    assert artifact["pattern"] == "branch_on_file"
    assert artifact["parameters"]["routes"] == [
        {
            "tasks": ["review_large"],
            "column": "amount",
            "rows": "any",
            "comparison": ">",
            "value": 100,
        }
    ]


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "5. notify • Objective: Send final notification after both paths complete • "
            "Integrations: Notification system (email/alerting)",
            True,
        ),
        ("Alert the team once the load is done • Output: an email alert to the on-call list", True),
        (
            "Send push notifications • Technical Details: - Notes: beside the email notification",
            False,
        ),
        ("Send the orders to the API • Technical Details: - Input: email column", False),
        ("Process the accounts • Integrations: email", False),
    ],
)
def test_a_notification_whose_details_say_email_gets_notify_email(
    description: str, expected: bool
) -> None:
    assert ("notify_email" in pattern_menu(step_context(description))) is expected


def test_a_task_after_the_branch_and_its_paths_runs_whatever_the_rows() -> None:
    spec = branch_spec(
        "If amount > 100 the orders go to review, else they pass.",
        ("review", "Review the high orders; write review.csv."),
        ("accept", "Accept the low orders; write accepted.csv."),
    )
    tasks = [*(spec.tasks or [])]
    tasks.append(
        tasks[-1].model_copy(
            update={
                "name": "report",
                "depends_on": ["route", "review", "accept"],
                "description": "Email ops@example.com when both paths are done.",
            }
        )
    )
    spec = spec.model_copy(update={"tasks": tasks})
    routing = stated_routing(branch_ctx(spec))
    assert routing is not None
    assert (routing.routes[0].tasks, routing.otherwise, routing.always) == (
        ["review"],
        ("accept",),
        ("report",),
    )
    assert path_filters(branch_ctx(spec, "report")) == []
    completed = BRANCH_ON_FILE.complete({"source": "read_orders"}, branch_ctx(spec))
    assert completed["always"] == ["report"]
