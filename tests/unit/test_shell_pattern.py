"""The bash_command pattern: steps whose words name ``BashOperator`` or a shell command
become ``BashOperator`` tasks running the command the words write out, else the one
``config.yml`` gives (a placeholder until someone fills it); the smoke run leaves them
to the deployment's workers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_llm.engine import build_bundle
from airflow_llm.patterns import ParameterError, context_for, pattern_named, ranked_pattern_names
from airflow_llm.patterns.shell import stated_commands
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import client

SPEC = PipelineSpec.model_validate(
    {
        "name": "nightly_backup",
        "description": "Back up the database every night and clean old logs.",
        "tasks": [
            {
                "name": "full_backup",
                "kind": "python",
                "description": "Perform a complete database backup • Operator: BashOperator",
            },
            {
                "name": "clean_logs",
                "kind": "python",
                "depends_on": ["full_backup"],
                "description": "Run `find /var/log/app -mtime +30 -delete` as a shell command.",
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        (
            "Key Parameters: bash_command='pg_dump -Fc prod > /backups/prod.dump'",
            ["pg_dump -Fc prod > /backups/prod.dump"],
        ),
        ("Runs `sleep 5` then exits", ["sleep 5"]),
        ("The `orders` table is read by a script", []),
    ],
)
def test_stated_commands(text: str, commands: list[str]) -> None:
    assert stated_commands(text) == commands


def test_steps_naming_bash_or_a_shell_command_get_it() -> None:
    backup, clean = SPEC.tasks or []
    for task in (backup, clean):
        assert ranked_pattern_names(context_for(SPEC, task, {})) == ["bash_command"]
    schema = pattern_named("bash_command").parameter_schema(context_for(SPEC, clean, {}), {})
    assert schema["properties"] == {"command": {"enum": ["find /var/log/app -mtime +30 -delete"]}}
    with pytest.raises(ParameterError, match="command"):
        pattern_named("bash_command").parse({"command": "rm -rf /\nreboot"})


def test_the_bundle_runs_stated_commands_and_asks_for_the_others(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    result = build_bundle(SPEC, client(ScriptedModel({})), settings)
    assert result.valid, result.reason
    dag = result.files["dags/nightly_backup.py"]
    assert 'bash_command=OPERATORS["clean_logs"]["bash_command"],' in dag
    config = yaml.safe_load(result.files["dags/resources/nightly_backup/config.yml"])
    operators = config["dev"]["operators"]
    assert operators["clean_logs"] == {"bash_command": "find /var/log/app -mtime +30 -delete"}
    assert operators["full_backup"] == {"bash_command": "<fill in: shell command full_backup runs>"}
    states = {task["name"]: task["state"] for task in result.report["smoke_run"]["tasks"]}
    reason = "not run: external: runs a shell command whose tools live on the deployment's workers"
    assert states == {"full_backup": reason, "clean_logs": reason}
