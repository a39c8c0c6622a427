"""The hybrid catalog: patterns the model parameterizes and the project renders.

A task's kind decides which patterns may serve it (:func:`patterns_for`); the model
picks one of them, or ``custom`` when none fits (the task is then written free-form),
from a menu ranked by the task's words (:func:`ranked_pattern_names`). SQL and quality
tasks get SQL scripts and suites; python, sensor, branch and llm tasks get provider
operators and TaskFlow tasks (:mod:`airflow_llm.patterns.operators`).
"""

from __future__ import annotations

from airflow_llm.patterns.aggregation import Aggregate, RollingWindow
from airflow_llm.patterns.base import AnyPattern, ParameterError, Pattern, Rendered, narrowed
from airflow_llm.patterns.batches import QueryBatches
from airflow_llm.patterns.branching import BranchOnSql
from airflow_llm.patterns.combining import JoinEnrich, Union
from airflow_llm.patterns.common import mentions_interval
from airflow_llm.patterns.containers import Container, KubernetesJob
from airflow_llm.patterns.context import Relation, TaskContext, context_for
from airflow_llm.patterns.control import BranchOnDate, Marker
from airflow_llm.patterns.copying import CopyInterval, MaskPii, Snapshot
from airflow_llm.patterns.dag_runs import ExternalTaskSensorPattern
from airflow_llm.patterns.databricks import DatabricksJob, DatabricksRunNow
from airflow_llm.patterns.deduplication import LatestPerKey
from airflow_llm.patterns.elasticsearch import ElasticsearchIndex
from airflow_llm.patterns.elasticsearch_aliases import ElasticsearchAlias
from airflow_llm.patterns.file_archives import ArchiveFiles
from airflow_llm.patterns.file_branching import BranchOnFile
from airflow_llm.patterns.file_checks import ValidateFile
from airflow_llm.patterns.file_exports import TableToFile
from airflow_llm.patterns.file_loads import FileToTable
from airflow_llm.patterns.file_reports import FileReport
from airflow_llm.patterns.file_table_loads import FileToTables
from airflow_llm.patterns.file_transforms import FileTransform, MergeFiles
from airflow_llm.patterns.files import FileSensorPattern
from airflow_llm.patterns.ftp import FtpDownload, FtpSensorPattern
from airflow_llm.patterns.graphql import GraphqlCall
from airflow_llm.patterns.http import HttpCall, HttpSensorPattern, HttpToS3
from airflow_llm.patterns.http_files import HttpToFile
from airflow_llm.patterns.json_rows import JsonToRows
from airflow_llm.patterns.llm_rows import LlmOverRows
from airflow_llm.patterns.merging import Upsert
from airflow_llm.patterns.messages import SendMessages
from airflow_llm.patterns.notifications import NotifyEmail, NotifySlack
from airflow_llm.patterns.operators import AnyOperatorPattern, OperatorPattern
from airflow_llm.patterns.quality import ExpectationSuite
from airflow_llm.patterns.rebuilds import RebuildTable
from airflow_llm.patterns.run_choice import BranchOnRunConf
from airflow_llm.patterns.run_params import ValidateParams
from airflow_llm.patterns.selection import QUESTION, Select
from airflow_llm.patterns.sensors import S3KeySensorPattern, SqlRowsSensor
from airflow_llm.patterns.shell import BashCommand
from airflow_llm.patterns.spark import SparkJob
from airflow_llm.patterns.table_ddl import CreateTable
from airflow_llm.patterns.transfers import QueryToS3, S3ToTable
from airflow_llm.patterns.triggers import AssetEvent, TriggerDag

CUSTOM = "custom"
"""The menu choice "no pattern fits": the task is written free-form."""

CATALOG: tuple[AnyPattern, ...] = (
    CopyInterval(),
    Aggregate(),
    LatestPerKey(),
    JoinEnrich(),
    Union(),
    RollingWindow(),
    Upsert(),
    MaskPii(),
    Snapshot(),
    CreateTable(),
    ExpectationSuite(),
    Select(),
    QueryToS3(),
    S3ToTable(),
    SqlRowsSensor(),
    S3KeySensorPattern(),
    TriggerDag(),
    AssetEvent(),
    NotifyEmail(),
    NotifySlack(),
    SendMessages(),
    HttpToS3(),
    HttpToFile(),
    FtpDownload(),
    HttpSensorPattern(),
    GraphqlCall(),
    HttpCall(),
    BranchOnSql(),
    FileSensorPattern(),
    FtpSensorPattern(),
    Marker(),
    BranchOnDate(),
    BranchOnFile(),
    BranchOnRunConf(),
    QueryBatches(),
    LlmOverRows(),
    ValidateFile(),
    JsonToRows(),
    FileTransform(),
    ArchiveFiles(),
    MergeFiles(),
    FileReport(),
    FileToTable(),
    FileToTables(),
    TableToFile(),
    RebuildTable(),
    Container(),
    KubernetesJob(),
    DatabricksJob(),
    DatabricksRunNow(),
    ElasticsearchIndex(),
    ElasticsearchAlias(),
    SparkJob(),
    ValidateParams(),
    BashCommand(),
    ExternalTaskSensorPattern(),
)

__all__ = [
    "CATALOG",
    "CUSTOM",
    "QUESTION",
    "AnyPattern",
    "ParameterError",
    "Pattern",
    "Relation",
    "Rendered",
    "TaskContext",
    "context_for",
    "operator_patterns",
    "pattern_menu",
    "pattern_named",
    "pattern_versions",
    "patterns_for",
    "ranked_pattern_names",
]


def pattern_versions() -> dict[str, int]:
    """Every pattern's version, for fingerprints and manifests (a new version of a
    renderer regenerates the bundles that used it)."""
    return {pattern.name: pattern.version for pattern in CATALOG}


def operator_patterns() -> dict[str, AnyOperatorPattern]:
    """The catalog's operator patterns by name (their artifacts configure an operator)."""
    return {p.name: p for p in CATALOG if isinstance(p, OperatorPattern)}


def patterns_for(kind: str) -> list[AnyPattern]:
    """The patterns that write artifacts of task kind ``kind`` (none: free-form only)."""
    return [pattern for pattern in CATALOG if pattern.kind == kind]


def pattern_named(name: str) -> AnyPattern:
    """The catalog's pattern called ``name``; raises ``KeyError``."""
    for pattern in CATALOG:
        if pattern.name == name:
            return pattern
    raise KeyError(name)


def ranked_pattern_names(ctx: TaskContext) -> list[str]:
    """The patterns that can serve ``ctx``'s task, the ones its words cue first; when the
    words do not speak of a date, a pattern that reads every row ranks just before its
    equally cued counterpart that reads only the logical date's rows. A fallback pattern
    is offered only when no other can serve the task."""
    usable = [
        p
        for p in patterns_for(ctx.task.kind)
        if p.applies(ctx) and (not isinstance(p, OperatorPattern) or p.fits_named_operators(ctx))
    ]
    usable = [p for p in usable if not (isinstance(p, OperatorPattern) and p.fallback)] or usable
    lexicon = {pattern.name: pattern.cues for pattern in usable}
    ranked = ctx.text.rank_by_cues([pattern.name for pattern in usable], lexicon)
    if mentions_interval(ctx.text):
        return ranked
    counts = ctx.text.cue_counts(lexicon)
    for pattern in usable:
        other = pattern.all_rows_alternative
        if other in ranked and counts[other] == counts[pattern.name]:
            ranked.remove(other)
            ranked.insert(ranked.index(pattern.name), other)
    return ranked


def pattern_menu(ctx: TaskContext) -> list[str]:
    """The patterns to offer: on a first answer, the ones the task's words cue most (if
    any pattern is cued at all); every usable one, ranked, when repairing."""
    ranked = ranked_pattern_names(ctx)
    counts = ctx.text.cue_counts({name: pattern_named(name).cues for name in ranked})
    best = max(counts.values(), default=0)
    cued = [name for name in ranked if best and counts[name] == best]
    return narrowed(ctx, cued, ranked)
