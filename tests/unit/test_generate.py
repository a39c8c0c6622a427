"""Generation and the repair loop with a scripted model."""

from __future__ import annotations

import pytest

from airflow_llm.generate import ArtifactGenerator
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel

GOOD_SQL = (
    "```sql\nCREATE TABLE IF NOT EXISTS totals (id BIGINT, d DATE);\n"
    "DELETE FROM totals WHERE d = '{{ ds }}';\n"
    "INSERT INTO totals (id, d)\nSELECT id, d FROM orders\nWHERE d = '{{ ds }}'\n```"
)
"""Idempotent for a logical date (the smoke run runs it twice): the day's rows replaced."""
GOOD_PYTHON = "```python\ndef run(config, upstream, item=None):\n    log.info('counting')\n    return len(upstream)\n```"
GOOD_SUITE = '{"table": "totals", "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]}'

SPEC = PipelineSpec.model_validate(
    {
        "name": "orders",
        "description": "Totals of orders.",
        "dialect": "postgres",
        "sources": [{"name": "orders", "columns": {"id": "BIGINT", "d": "DATE"}}],
        "tasks": [
            {"name": "build_totals", "kind": "sql", "description": "Copy ids into totals."},
            {
                "name": "check_totals",
                "kind": "quality",
                "description": "ids are set.",
                "depends_on": "build_totals",
            },
            {
                "name": "count",
                "kind": "python",
                "description": "Count upstream.",
                "depends_on": "check_totals",
            },
        ],
    }
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> GenerationSettings:
    """One work dir for the module, so mypy's cache stays warm."""
    return GenerationSettings(
        max_attempts=3, work_dir=tmp_path_factory.mktemp("work"), strategy="free"
    )


def generate(
    script: ScriptedModel, settings: GenerationSettings, spec: PipelineSpec = SPEC
) -> dict:  # type: ignore[type-arg]
    router = ModelRouter(default=Endpoint(model="m", base_url="http://m.test/v1"))
    client = ModelClient(router, http_client=script.transport(), sleep=lambda s: None)
    return ArtifactGenerator(spec, list(spec.tasks or []), client, settings).generate_all()


def test_good_first_answers_need_one_attempt_each(settings: GenerationSettings) -> None:
    script = ScriptedModel({"sql": [GOOD_SQL], "quality": [GOOD_SUITE], "python": [GOOD_PYTHON]})
    states = generate(script, settings)
    assert {name: (s.valid, len(s.attempts)) for name, s in states.items()} == {
        "build_totals": (True, 1),
        "check_totals": (True, 1),
        "count": (True, 1),
    }
    assert script.roles() == ["sql", "quality", "python"], "upstream first"
    suite_request = script.requests[1]
    table_schema = suite_request["response_format"]["json_schema"]["schema"]["properties"]["table"]
    assert table_schema["enum"] == ["orders", "totals"], "the upstream SQL's table is offered"


def test_a_failing_sql_answer_is_repaired_with_line_marked_findings(
    settings: GenerationSettings,
) -> None:
    script = ScriptedModel(
        {
            "sql": ["```sql\nselec id frm orders\n```"],
            "repair": [GOOD_SQL],
            "quality": [GOOD_SUITE],
            "python": [GOOD_PYTHON],
        }
    )
    states = generate(script, settings)
    sql = states["build_totals"]
    assert (sql.valid, len(sql.attempts)) == (True, 2)
    assert sql.attempts[0].findings[0].rule == "PRS"
    repair = script.requests[script.roles().index("repair")]["messages"][-1]["content"]
    assert "  1| selec id frm orders" in repair
    assert "[PRS]" in repair


def test_mypy_findings_trigger_a_repair(settings: GenerationSettings) -> None:
    wrong_type = "```python\ndef run(config, upstream, item=None):\n    total: int = 'many'\n    return total\n```"
    script = ScriptedModel(
        {
            "sql": [GOOD_SQL],
            "quality": [GOOD_SUITE],
            "python": [wrong_type],
            "repair": [GOOD_PYTHON],
        }
    )
    states = generate(script, settings)
    count = states["count"]
    assert [f.rule for f in count.attempts[0].findings] == ["mypy.assignment"]
    assert (count.valid, len(count.attempts)) == (True, 2)


def test_attempts_are_bounded_and_failures_stay_invalid(settings: GenerationSettings) -> None:
    script = ScriptedModel(
        {
            "sql": ["DROP TABLE orders"],
            "repair": ["DROP TABLE orders"],
            "quality": [GOOD_SUITE],
            "python": [GOOD_PYTHON],
        }
    )
    states = generate(script, settings)
    sql = states["build_totals"]
    assert (sql.valid, len(sql.attempts)) == (False, 3)
    assert all(a.findings[0].rule == "policy.statement" for a in sql.attempts)
    assert script.roles().count("repair") == 2


GOOD = {"sql": GOOD_SQL, "quality": GOOD_SUITE, "python": GOOD_PYTHON}
LEAKY = {
    "sql": ("build_totals", GOOD_SQL.replace("```sql\n", "```sql\n-- AKIAIOSFODNN7EXAMPLE\n")),
    "quality": (
        "check_totals",
        '{"table": "totals", "expectations": [{"type": "expect_column_values_to_be_in_set", '
        '"kwargs": {"column": "id", "value_set": ["AKIAIOSFODNN7EXAMPLE"]}}]}',
    ),
    "python": ("count", GOOD_PYTHON.replace("'counting'", "'AKIAIOSFODNN7EXAMPLE'")),
}
"""Per role: the task it writes, and an otherwise good answer holding an AWS key id."""


@pytest.mark.parametrize("role", sorted(LEAKY))
def test_a_secret_in_any_output_blocks_it_and_goes_back_for_repair(
    role: str, settings: GenerationSettings
) -> None:
    task, leaky = LEAKY[role]
    answers = {**GOOD, role: leaky, "repair": GOOD[role]}
    script = ScriptedModel({name: [answer] for name, answer in answers.items()})
    state = generate(script, settings)[task]
    assert "secret.aws_access_key" in [f.rule for f in state.attempts[0].findings]
    assert (state.valid, len(state.attempts)) == (True, 2)
    repair = script.requests[script.roles().index("repair")]["messages"][-1]["content"]
    assert "[secret.aws_access_key]" in repair


def test_the_spec_extends_the_python_allow_list(settings: GenerationSettings) -> None:
    answer = (
        "```python\nimport sklearn\n\ndef run(config, upstream, item=None):\n"
        "    log.info('%s', sklearn.__name__)\n    return len(upstream)\n```"
    )
    for allowed, valid in (([], False), (["sklearn"], True)):
        spec = SPEC.model_copy(update={"allowed_imports": allowed})
        script = ScriptedModel({**{k: [v] for k, v in GOOD.items()}, "python": [answer]})
        state = generate(script, settings, spec)["count"]
        assert state.valid is valid, state.attempts[0].findings
        system = script.requests[script.roles().index("python")]["messages"][0]["content"]
        assert ("sklearn" in system) is valid, "the prompt lists what the spec allows"
