"""The run-conf branch: a branch whose words test nothing (a callable, "conditional
logic") takes the paths a manual run's conf names, else its default; branches on the
date, on numbers or on files stay the other patterns'."""

from __future__ import annotations

import pytest

from airflow_llm.patterns import ParameterError, context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.run_choice import untested_choice
from airflow_llm.spec import PipelineSpec


def branch_context(words: str, second_path: str = "Load the rows.") -> TaskContext:
    """A branch with these words before two paths, ``quick_path`` and ``full_path``."""
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "description": words,
            "tasks": [
                {"name": "pick", "kind": "branch", "description": words},
                {
                    "name": "quick_path",
                    "kind": "python",
                    "depends_on": ["pick"],
                    "description": "Does nothing.",
                },
                {
                    "name": "full_path",
                    "kind": "python",
                    "depends_on": ["pick"],
                    "description": second_path,
                },
            ],
        }
    )
    return context_for(spec, (spec.tasks or [])[0], {})


@pytest.mark.parametrize(
    ("words", "untested"),
    [
        ("Determine the path with branch_func (python_callable=branch_func)", True),
        ("Route to quick_path or full_path based on conditional logic", True),
        ("Take full_path on weekends, quick_path otherwise", False),
        ("Take full_path when the row count exceeds 1000", False),
        ("Take full_path if the file is empty", False),
        ("Route by the order status", False),
    ],
)
def test_untested_choice(words: str, untested: bool) -> None:
    assert untested_choice(words) is untested


def test_a_branch_that_tests_nothing_defaults_to_its_first_path() -> None:
    ctx = branch_context("Routes to quick_path or full_path (BranchPythonOperator, choose_fn)")
    assert ranked_pattern_names(ctx) == ["branch_on_run_conf"]
    schema = pattern_named("branch_on_run_conf").parameter_schema(ctx, {})
    assert schema["properties"]["default"]["items"] == {"enum": ["quick_path"]}


def test_the_path_the_words_call_default_is_the_default() -> None:
    ctx = branch_context("Route to quick_path, or by default to full_path.")
    schema = pattern_named("branch_on_run_conf").parameter_schema(ctx, {})
    assert schema["properties"]["default"]["items"] == {"enum": ["full_path"]}
    ctx = branch_context("Pick a path.", second_path="The default path: load the rows.")
    schema = pattern_named("branch_on_run_conf").parameter_schema(ctx, {})
    assert schema["properties"]["default"]["items"] == {"enum": ["full_path"]}


def test_a_date_branch_is_not_left_to_the_run_conf() -> None:
    ctx = branch_context("On the first day of the month take full_path, else quick_path.")
    assert ranked_pattern_names(ctx) == ["branch_on_date"]


def test_defaults_the_pattern_refuses() -> None:
    pattern = pattern_named("branch_on_run_conf")
    ctx = branch_context("Pick quick_path or full_path.")
    with pytest.raises(ParameterError, match="not downstream of pick: elsewhere"):
        pattern.render(pattern.parse({"default": ["elsewhere"]}), ctx)
    with pytest.raises(ParameterError, match="every path"):
        pattern.render(pattern.parse({"default": ["quick_path", "full_path"]}), ctx)
    with pytest.raises(ParameterError, match="default"):
        pattern.parse({"default": []})
