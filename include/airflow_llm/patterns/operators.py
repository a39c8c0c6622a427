"""Operator patterns: tasks a provider operator already does, configured rather than coded.

An operator pattern serves a ``python``, ``sensor`` or ``branch`` task. The model
answers its typed parameters (what the task's words state: a table, a file format, a
key) like a SQL pattern's; the task's artifact is ``<task>_operator.json``
(:class:`OperatorArtifact`: pattern, version, parameters), from which the DAG file gets
the provider operator (the snippet ``bundle/templates/<pattern>.py.j2``) and
``config.yml`` the task's per-environment :class:`Setting` values (connection ids,
buckets, keys) under ``operators.<task>``. A value neither the spec's environment nor
the task's words give is a placeholder, ``<fill in: ...>``: ``airflow-llm validate``
lists them, promotion to an environment refuses a bundle that still has one there, and
the smoke run replaces them with its stand-ins' values.
"""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Literal

from airflow_llm.patterns.base import ParameterError, Params, Pattern, Rendered
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.images import stated_images
from airflow_llm.patterns.installed_operators import installed_operator_classes
from airflow_llm.patterns.reads import Producer, Read, config_reference
from airflow_llm.spec import EnvironmentConfig, PipelineSpec, TaskSpec
from airflow_llm.validate.findings import Finding

OPERATOR_KINDS = frozenset({"python", "sensor", "branch", "llm"})
"""Task kinds operator patterns serve (``sql`` and ``quality`` have their own)."""
PLACEHOLDER = "<fill in: {}>"
_PLACEHOLDER = re.compile(r"^<fill in: .+>$", re.DOTALL)

SettingKind = Literal[
    "sql_conn_id",
    "aws_conn_id",
    "llm_conn_id",
    "fs_conn_id",
    "bucket",
    "key",
    "dag_id",
    "smtp_conn_id",
    "recipients",
    "http_conn_id",
    "endpoint",
    "path",
    "command",
    "slack_webhook_conn_id",
    "message",
    "ftp_conn_id",
    "databricks_conn_id",
    "elasticsearch_conn_id",
    "compute",
]
"""What a setting names, which decides where its value comes from and what the smoke
run's stand-in answers to (``compute``: what a job on external compute runs, or where: a
notebook path, a main class, a cluster id, an Elasticsearch index)."""
_ENVIRONMENT_FIELDS: dict[SettingKind, str] = {
    "sql_conn_id": "conn_id",
    "aws_conn_id": "aws_conn_id",
    "bucket": "bucket",
}
"""The spec environment's field that gives a setting of each kind (if any)."""
_ENVIRONMENT_VARS: dict[SettingKind, str] = {
    "llm_conn_id": "model_conn_id",
    "fs_conn_id": "fs_conn_id",
    "slack_webhook_conn_id": "slack_webhook_conn_id",
    "databricks_conn_id": "databricks_conn_id",
    "elasticsearch_conn_id": "elasticsearch_conn_id",
}
"""The spec environment's ``vars`` entry that gives a setting of each kind (if any)."""
_DEFAULTS: dict[SettingKind, str] = {"smtp_conn_id": "smtp_default"}
"""Airflow's default connection of a kind, where it has one."""


_DETAILS = re.compile(
    r"\b(?:technical details|key parameters|inputs?|outputs?|upstream|downstream)\b\W*:",
    re.IGNORECASE,
)


def lead(text: str) -> str:
    """A step's title and objective: its words before the details (inputs, outputs,
    parameters), where a step says what it does rather than what it touches."""
    return _DETAILS.split(text, maxsplit=1)[0]


def names_operator(text: str, operator: str) -> bool:
    """Whether ``text`` names the Airflow operator class ``operator``."""
    return re.search(rf"\b{operator}\b", text) is not None


NAMED_OPERATOR = re.compile(r"\b[A-Z]\w*(?:Operator|Sensor)\b")
"""An Airflow operator or sensor class named in words."""
GENERIC_OPERATORS = frozenset(
    {
        "PythonOperator",
        "BranchPythonOperator",
        "PythonVirtualenvOperator",
        "ExternalPythonOperator",
        "ShortCircuitOperator",
        "DummyOperator",
    }
)
"""Operators that run any code: naming one says nothing against a provider operator."""


def named_operators(text: str) -> set[str]:
    """The operator classes ``text`` names; ``DockerOperator`` for a container image it
    names (the image is how the step runs)."""
    named = set(NAMED_OPERATOR.findall(text))
    return named | {"DockerOperator"} if stated_images(text) else named


def holds_cue(name: str, cue: str) -> bool:
    """Whether a class name's words, or a run of them, spell ``cue``
    (``MagentoGraphQLOperator``: Magento, Graph, QL spell ``graphql``; ``ForestOperator``
    does not spell ``rest``)."""
    words = [word.lower() for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]
    wanted = re.sub(r"[\s_-]", "", cue.lower())
    runs = (
        "".join(words[start:end])
        for start in range(len(words))
        for end in range(start + 1, len(words) + 1)
    )
    return wanted in runs


@lru_cache(maxsize=256)
def _spells_a_cue(name: str) -> bool:
    """Whether an operator's name spells a cue of any operator pattern of the catalog
    (the catalog is fixed: computed once per name, not per pattern and task)."""
    from airflow_llm.patterns import operator_patterns  # the catalog imports this module

    cues = {cue for pattern in operator_patterns().values() for cue in pattern.cues}
    return any(holds_cue(name, cue) for cue in cues)


def stated_values(settings: list[Setting], task: str) -> dict[str, str]:
    """Each setting's stated value, else a reference to ``config.yml``'s (for reads and
    writes, which name what every environment shares)."""
    return {s.name: s.stated or config_reference(task, s.name) for s in settings}


def stated_value(settings: list[Setting], name: str) -> str | None:
    """The value the task's words state for the setting called ``name``, if any."""
    return next((s.stated for s in settings if s.name == name and s.stated), None)


def placeholder(what: str) -> str:
    """The value of a setting nobody gave: says what to fill in."""
    return PLACEHOLDER.format(what)


def is_placeholder(value: object) -> bool:
    """Whether a config value is a placeholder still to fill."""
    return isinstance(value, str) and bool(_PLACEHOLDER.match(value))


@dataclass(frozen=True)
class Setting:
    """One per-environment value an operator takes from ``config.yml``."""

    name: str
    kind: SettingKind
    what: str
    """What the value is, for its placeholder (say, "S3 bucket t writes to")."""
    stated: str | None = None
    """The value the task's words state (every environment's, unless overridden)."""

    def value(self, task: str, environment: EnvironmentConfig) -> Any:
        """Its value in ``environment``: the spec's ``vars`` entry ``<task>_<name>``, else
        the stated value, else the environment's field of its kind, else Airflow's
        default connection of its kind, else a placeholder."""
        override = environment.vars.get(f"{task}_{self.name}")
        if override is not None:
            return override
        if self.stated is not None:
            return self.stated
        field = _ENVIRONMENT_FIELDS.get(self.kind)
        found = getattr(environment, field) if field else None
        found = found or environment.vars.get(_ENVIRONMENT_VARS.get(self.kind, ""))
        return found or _DEFAULTS.get(self.kind) or placeholder(self.what)


class OperatorPattern(Pattern[Params]):
    """A pattern whose artifact configures a provider operator in the DAG file."""

    imports: ClassVar[tuple[str, ...]]
    """The DAG file's import lines for its operator."""
    stands_for: ClassVar[tuple[str, ...]] = ()
    """Operator classes whose task it writes besides its own (older names of its
    operator, say ``SimpleHttpOperator``)."""
    requirements: ClassVar[tuple[str, ...]]
    """Pinned packages the bundle needs for it (its ``requirements.txt``)."""
    fallback: ClassVar[bool] = False
    """Whether it serves a task only when no other pattern can (a branch whose words test
    nothing: a pattern that tests what they state serves it better)."""
    module_template: ClassVar[str | None] = None
    """Its snippet at the DAG file's module scope (say, the classes its operator
    returns), under ``bundle/templates/``; None: it has none."""
    awaits_s3_object: ClassVar[bool] = False
    """Whether it waits for the object its settings name (the smoke run's S3 stand-in
    then holds one there, as the producer upstream would have written it)."""
    awaits_file: ClassVar[bool] = False
    """Whether it waits for the file its settings name (the smoke run's filesystem
    stand-in then holds one there, as the producer upstream would have written it)."""
    seeds_s3_object: ClassVar[bool] = False
    """Whether it loads the object its settings name, with its ``source`` table's
    columns (the smoke run's stand-in then holds that table's sample rows there)."""
    remote_file: ClassVar[tuple[str, str] | None] = None
    """The remote service (``http``, ``ftp``) whose file it reads or waits for, and the
    setting naming that file there (the smoke run's stand-in for the service then
    serves one there, with the columns the tasks after it read); None: it reads none."""
    answers_from: ClassVar[tuple[str, str] | None] = None
    """The remote service (``http``) whose answer it passes on (XCom), and the setting
    naming where it asks (the smoke run's stand-in then answers there with a JSON
    document of the fields the tasks after it read); None: it passes on no answer."""
    calls: ClassVar[tuple[str, str] | None] = None
    """The remote service (``http``) it calls, and the setting naming where, when it
    keeps or waits for the answer rather than passing it on (:attr:`answers_from`)."""
    table_parameters: ClassVar[tuple[str, ...]] = ()
    """Its parameters that name a table it reads (a None value: none there)."""
    writes_table: ClassVar[str | None] = None
    """Its parameter naming the table it writes (None: it writes no table there)."""
    writes_s3_object: ClassVar[bool] = False
    """Whether it writes the object its ``bucket`` and ``key`` settings name."""
    runs_code: ClassVar[bool] = False
    """Whether it runs code the bundle does not hold (a container image, a shell
    command, a job of a workspace): what the task reads and writes is then unknown."""

    def applies(self, ctx: TaskContext) -> bool:
        """Whether the task's words cue it: an operator does one specific thing, and a
        task whose words name none of its cues is left to other patterns or free-form."""
        return ctx.text.cue_counts({self.name: self.cues})[self.name] > 0

    def fits_named_operators(self, ctx: TaskContext) -> bool:
        """False when the task's words name how it runs with operators other than this
        pattern's (say, ``KubernetesJobOperator``, or a container image): that is not this
        pattern's task. Operators that run any code (``PythonOperator``) decide nothing.
        An operator no installed provider defines (an in-house ``AcmeGraphQLOperator``)
        cannot run in a bundle: its name says what the step does, so it refuses only the
        patterns none of whose cues its name's words spell (:func:`holds_cue`); one whose
        name spells no pattern's cue (``PipelineOperator``) says nothing, like
        ``PythonOperator``, and the words decide."""
        named = named_operators(ctx.task.description) - GENERIC_OPERATORS
        in_house = {name for name in named if name not in installed_operator_classes()}
        cued = {name for name in in_house if any(holds_cue(name, cue) for cue in self.cues)}
        silent = {name for name in in_house if not _spells_a_cue(name)}
        return not named - cued - silent or bool(named & self.operator_names)

    @property
    def operator_names(self) -> set[str]:
        """The operator classes it renders, or stands for, by name."""
        return {line.split()[-1] for line in self.imports} | set(self.stands_for)

    @property
    def template(self) -> str:
        """The DAG-file snippet of its operator, under ``bundle/templates/``."""
        return f"{self.name}.py.j2"

    def followers(self, task: TaskSpec) -> list[str]:
        """The ids of the tasks its snippet adds after ``task``'s own, in a chain (say,
        one that writes its results to a table): the last has ``task``'s downstream
        edges. By default none."""
        return []

    def planned_output(self, ctx: TaskContext) -> Relation | None:
        """What it would write for ``ctx``'s task before its parameters are chosen, when
        the tasks after it may read that (a file); None by default (what it writes is
        known once rendered)."""
        return None

    def external(self, params: Params) -> str | None:
        """Why its operator cannot run in the smoke run (it reaches what no stand-in stands
        for), or None: it runs."""
        return None

    def variables(self, params: Params, pipeline: str) -> list[str]:
        """The Airflow Variables its operator reads (secrets kept out of the bundle); the
        smoke run gives each a stand-in value. By default none."""
        return []

    def data_reads(self, params: Params, task: TaskSpec) -> list[Read]:
        """What ``task`` reads: the tables its :attr:`table_parameters` name; the S3
        object or file it waits for (``external``) or loads with a declared source's
        columns (``source``); the remote file it downloads, or the answer it passes on
        (``external``), or the service it :attr:`calls`; ``unknown`` when it
        :attr:`runs_code`. What produces a table, and a file or object without a
        producer here, :mod:`airflow_llm.bundle.data_flow` resolves."""
        value = stated_values(self.settings(params, task), task.name)
        reads = [
            Read("table", table)
            for name in self.table_parameters
            if (table := getattr(params, name)) is not None
        ]
        if self.awaits_s3_object or self.seeds_s3_object:
            producer: Producer = "external" if self.awaits_s3_object else "source"
            reads.append(Read("object", f"s3://{value['bucket']}/{value['key']}", producer))
        if self.awaits_file:
            reads.append(Read("file", value["path"], "external"))
        for remote in dict.fromkeys((self.remote_file, self.answers_from, self.calls)):
            if remote is not None:
                reads.append(Read("file", f"{remote[0]}: {value[remote[1]]}", "external"))
        if self.runs_code:
            reads.append(Read.unknown(f"{self.name}: code the bundle does not hold"))
        return reads

    def data_writes(self, params: Params, task: TaskSpec) -> list[Read]:
        """What it writes that a task after it may read: tables, S3 objects, files at
        stated paths. By default the table :attr:`writes_table` names, and the object it
        :attr:`writes_s3_object`, where its settings state the key."""
        settings = self.settings(params, task)
        written = [Read("table", getattr(params, self.writes_table))] if self.writes_table else []
        if self.writes_s3_object and stated_value(settings, "key") is not None:
            value = stated_values(settings, task.name)
            written.append(Read("object", f"s3://{value['bucket']}/{value['key']}"))
        return written

    @abstractmethod
    def settings(self, params: Params, task: TaskSpec) -> list[Setting]:
        """The values it reads from ``config.yml`` (per environment)."""

    @abstractmethod
    def arguments(self, params: Params, spec: PipelineSpec, task: TaskSpec) -> dict[str, Any]:
        """What its snippet renders besides the settings (say, the query it runs)."""

    def check(self, params: Params, ctx: TaskContext) -> Relation | None:
        """Refuse parameters the task's tables cannot serve (:class:`ParameterError`);
        the table it writes, if any. By default: nothing to refuse, no table."""
        return None

    def render(self, params: Params, ctx: TaskContext) -> Rendered:
        """The artifact: the pattern, its version and the parameters, as JSON."""
        output = self.check(params, ctx)
        artifact = OperatorArtifact(self.name, self.version, params.model_dump(mode="json"))
        return Rendered(artifact.to_json(), output)


AnyOperatorPattern = OperatorPattern[Any]


@dataclass(frozen=True)
class OperatorArtifact:
    """The content of ``<task>_operator.json``."""

    pattern: str
    version: int
    parameters: dict[str, Any]

    def to_json(self) -> str:
        """Canonical JSON (same parameters, same bytes)."""
        body = {"pattern": self.pattern, "version": self.version, "parameters": self.parameters}
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> OperatorArtifact:
        """Parse an artifact; raises ``ValueError`` for anything else."""
        body = json.loads(text)
        if not isinstance(body, dict) or set(body) != {"pattern", "version", "parameters"}:
            raise ValueError("expected an object with pattern, version and parameters")
        pattern, version, parameters = body["pattern"], body["version"], body["parameters"]
        if not isinstance(pattern, str) or not isinstance(version, int):
            raise ValueError("pattern must be a name and version a number")
        if not isinstance(parameters, dict):
            raise ValueError("parameters must be an object")
        return cls(pattern, version, parameters)


@dataclass(frozen=True)
class BoundOperator:
    """An operator pattern with one task's parameters: what rendering a bundle needs."""

    pattern: AnyOperatorPattern
    params: Any
    task: TaskSpec

    def settings(self) -> list[Setting]:
        """The task's settings."""
        return self.pattern.settings(self.params, self.task)

    def followers(self) -> list[str]:
        """The tasks its snippet adds after the task's own."""
        return self.pattern.followers(self.task)

    def external(self) -> str | None:
        """Why it cannot run in the smoke run, or None."""
        return self.pattern.external(self.params)

    def variables(self, pipeline: str) -> list[str]:
        """The Airflow Variables the task reads."""
        return self.pattern.variables(self.params, pipeline)

    def reads(self) -> list[Read]:
        """What the task reads (see :meth:`OperatorPattern.data_reads`)."""
        return self.pattern.data_reads(self.params, self.task)

    def writes(self) -> list[Read]:
        """The objects and files it writes that others may name."""
        return self.pattern.data_writes(self.params, self.task)

    def config(self, environment: EnvironmentConfig) -> dict[str, Any]:
        """The task's ``operators.<task>`` section of one environment's config."""
        return {s.name: s.value(self.task.name, environment) for s in self.settings()}


def bind(text: str, task: TaskSpec, patterns: Mapping[str, AnyOperatorPattern]) -> BoundOperator:
    """The operator ``text`` (an artifact) configures for ``task``; raises ``ValueError``
    (a :class:`ParameterError` for parameters the pattern refuses)."""
    artifact = OperatorArtifact.from_json(text)
    pattern = patterns.get(artifact.pattern)
    if pattern is None:
        raise ValueError(f"no operator pattern {artifact.pattern!r}")
    if task.kind != pattern.kind:
        raise ValueError(f"{artifact.pattern} serves {pattern.kind} tasks, not {task.kind}")
    if artifact.version != pattern.version:
        raise ValueError(
            f"{artifact.pattern} version {artifact.version}, this generator renders "
            f"version {pattern.version}: regenerate the bundle"
        )
    return BoundOperator(pattern, pattern.parse(artifact.parameters), task)


def operator_findings(
    text: str, path: str, task: TaskSpec, patterns: Mapping[str, AnyOperatorPattern]
) -> list[Finding]:
    """Problems of an operator artifact: unreadable, an unknown pattern or version,
    parameters its pattern refuses."""
    try:
        bind(text, task, patterns)
    except ParameterError as error:
        return [Finding(path, None, "pattern.parameters", p) for p in error.problems]
    except ValueError as error:
        return [Finding(path, None, "operator.artifact", str(error))]
    return []


def placeholders(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per environment of a parsed ``config.yml``, the settings still placeholders, as
    ``operators.<task>.<setting>: <fill in: ...>``."""
    found: dict[str, list[str]] = {}
    for environment, values in config.items():
        operators = values.get("operators") if isinstance(values, dict) else None
        for task, settings in (operators or {}).items():
            for name, value in (settings or {}).items():
                if is_placeholder(value):
                    found.setdefault(environment, []).append(f"operators.{task}.{name}: {value}")
    return found
