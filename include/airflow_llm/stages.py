"""The spec -> bundle flow as stages, one per Airflow task (mapped where it fans out).

prepare (parse, validate, skip unchanged; every spec at once) -> plan (tasks for every
ready spec) -> batches -> generate (answer, validate and repair each task of a batch of
whole specs; a quality suite after its spec's SQL) -> build (render one bundle per
spec and gate it: types, import, structure, smoke run) -> publish.
Every stage reads its inputs from and writes its outputs to a run-scoped work prefix in
object storage; XCom carries only small dicts of names, statuses and URIs. Nothing here
needs a scheduler: tests call the stages directly.

Model-bound stages work on many items per task instance and keep up to
``FlowContext.concurrency`` requests in flight (threads taking turns, see
:func:`_with_model`): mapped instances start seconds apart on a real executor and run
one at a time under ``dag.test()``, so concurrency inside an instance is what keeps the
endpoint busy. Batching never changes what is generated: same inputs, same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar

from airflow.sdk import ObjectStoragePath

from airflow_llm import __version__
from airflow_llm.bundle.render import render_bundle, spec_sha256
from airflow_llm.deployment import BUCKET
from airflow_llm.gates import GateResult, gate_bundle, gates_run
from airflow_llm.generate import ArtifactGenerator, ArtifactState, role_of
from airflow_llm.llm.cache import ResponseCache
from airflow_llm.llm.client import ChatRequest, ChatResponse, ModelClient, ModelError
from airflow_llm.llm.endpoints import ModelRouter, router_from_connections
from airflow_llm.llm.pricing import PriceTable, total_cost
from airflow_llm.patterns import pattern_versions
from airflow_llm.plan import PlanAttempt, PlanningError, plan_tasks
from airflow_llm.progress import progress
from airflow_llm.prompts import PromptBudgetError, prompt_versions
from airflow_llm.publish import (
    UNKNOWN,
    bundle_identity,
    current_bundle,
    publish_bundle,
    replaced_in_run,
    write_report,
)
from airflow_llm.rejections import clear_rejection, record_rejection, standing_rejection
from airflow_llm.report import build_manifest, build_report, report_markdown
from airflow_llm.settings import GenerationSettings, Strategy, parse_strategy
from airflow_llm.spec import PipelineSpec, TaskSpec, reachable
from airflow_llm.spec_loading import (
    SpecError,
    SpecProblem,
    name_clashes,
    name_from_file,
    parse_spec,
)
from airflow_llm.usage import report_usage
from airflow_llm.validate.findings import Finding, errors, sha256_text
from airflow_llm.validate.sql import SqlValidator

READY, UNCHANGED, REJECTED, PUBLISHED = "ready", "unchanged", "rejected", "published"
IDLE: dict[str, Any] = {
    "uri": None,
    "environment": "-",
    "pipeline": "-",
    "status": "idle",
    "tasks": {},
}
"""The one item a run with nothing to generate maps over: every stage passes it on
(a mapped task over nothing is skipped, and dag.test() then logs "unrunnable tasks"
for the tasks after it); the summary leaves it out."""
DEFAULT_ROUTES = {"default": "airflow_llm_model"}
BATCH_SIZE = 100
"""Tasks per batch, whole specs (Variable ``airflow_llm_batch_size``): one instance of the
``batch`` group each (generate, gate, publish). Under ``dag.test()``, which runs one
instance at a time, few batches mean few process start-ups and few ends of batch where
the endpoint idles (``make bench``). On a cluster, smaller batches overlap the gates of
one with the generation of the next: enough specs per batch that the pool's instances
keep the endpoint busy (docs/performance.md)."""
CONCURRENCY = 4
"""Model requests one task instance keeps in flight (``airflow_llm_batch_concurrency``):
the embedded server's slots. For a bigger endpoint, about twice the slots one instance
may use, so the endpoint's queue covers the pauses while answers are validated."""

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Result = TypeVar("Result")


def context_for_run(params: Mapping[str, Any], run_id: str) -> FlowContext:
    """The flow context of an Airflow run: the deployment's bucket; model routes,
    attempts, batch size, concurrency and the smoke-run switch from Airflow Variables."""
    from airflow.sdk import Variable

    routes = json.loads(
        Variable.get("airflow_llm_model_routes", default=json.dumps(DEFAULT_ROUTES))
    )
    return FlowContext(
        bucket=BUCKET,
        run_key=run_key(run_id),
        routes=routes,
        force=bool(params.get("force", False)),
        max_attempts=int(Variable.get("airflow_llm_max_attempts", default="3")),
        batch_size=int(Variable.get("airflow_llm_batch_size", default=str(BATCH_SIZE))),
        concurrency=int(Variable.get("airflow_llm_batch_concurrency", default=str(CONCURRENCY))),
        smoke_run=Variable.get("airflow_llm_smoke_run", default="true").lower() != "false",
        strategy=parse_strategy(Variable.get("airflow_llm_strategy", default="auto")),
    )


def run_key(run_id: str) -> str:
    """A run id made safe for an object key (``manual__2026-01-01T00:00:00+00:00`` ...)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")


@dataclass
class FlowContext:
    """Where a run keeps its work and which connections it uses."""

    bucket: str
    run_key: str
    conn_id: str = "airflow_llm_s3"
    routes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    force: bool = False
    max_attempts: int = 3
    batch_size: int = BATCH_SIZE
    concurrency: int = CONCURRENCY
    smoke_run: bool = True
    strategy: Strategy = "auto"

    def work(self, environment: str, pipeline: str) -> ObjectStoragePath:
        """The run's work folder for one pipeline in one environment."""
        root = f"s3://{self.bucket}/{self._work_key(environment, pipeline)}"
        return ObjectStoragePath(root, conn_id=self.conn_id)

    def _work_key(self, environment: str, pipeline: str) -> str:
        """The key prefix of :meth:`work` in the bucket."""
        return f"work/{self.run_key}/{environment}/{pipeline}/"

    def replaces(self, environment: str, pipeline: str) -> str | None:
        """What this run's publish of ``pipeline`` in ``environment`` replaces, as its
        first attempt recorded it in the work folder (:func:`replaced_in_run`): a retry
        after an attempt that died once its bundle was current still announces it."""
        record = self._work_key(environment, pipeline) + "replaces.json"
        return replaced_in_run(self.s3(), self.bucket, environment, pipeline, record)

    def settings(self) -> GenerationSettings:
        """Generation settings (the mypy cache lives on the worker's disk)."""
        return GenerationSettings(
            max_attempts=self.max_attempts,
            work_dir=Path(tempfile.gettempdir()) / "airflow-llm",
            smoke_run=self.smoke_run,
            strategy=self.strategy,
        )

    def router(self) -> ModelRouter:
        """Endpoints per request role, from the configured connections."""
        return router_from_connections(self.routes)

    def prices(self) -> PriceTable:
        """Model prices: the defaults, and ``$AIRFLOW_LLM_PRICES`` (a JSON file) if set."""
        return PriceTable.from_env()

    def unpriced_models(self, roles: Iterable[str]) -> list[str]:
        """The models that answer ``roles`` and have no price (their cost is unknown)."""
        router, prices = self.router(), self.prices()
        models = {router.for_role(role).model for role in roles}
        return sorted(model for model in models if not prices.knows(model))

    def response_cache(self) -> ResponseCache:
        """Model responses by content, in the bucket (so reruns make no model call)."""
        return ResponseCache.at(f"s3://{self.bucket}/cache/responses/", conn_id=self.conn_id)

    def s3(self) -> Any:
        """The boto3 S3 client of the storage connection (for conditional writes)."""
        from airflow.sdk import BaseHook

        return _s3_client(self.conn_id, BaseHook.get_connection(self.conn_id).get_uri())


@lru_cache(maxsize=8)
def _s3_client(conn_id: str, settings: str) -> Any:
    """One boto3 S3 client per process and connection ``settings`` (its URI: changed
    settings get a new client), shared by every task and thread of the process: making
    one costs about 0.2 s, and boto3 clients are thread-safe."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=conn_id).get_conn()


def _write_json(path: ObjectStoragePath, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True))


def _read_json(path: ObjectStoragePath) -> Any:
    return json.loads(path.read_text())


def _read_json_if_present(path: ObjectStoragePath) -> Any | None:
    """``path``'s JSON, or None when there is no such object (one request, not two)."""
    try:
        return _read_json(path)
    except FileNotFoundError:
        return None


def _reject(
    ctx: FlowContext,
    item: dict[str, Any],
    reason: str,
    report: dict[str, Any],
    per_spec: bool = False,
    standing: bool = True,
) -> dict[str, Any]:
    """Write the report of a rejected item; ``per_spec``: its name carries the spec's URI
    (a spec with no valid name, or one another spec claims too, has no report of its own).
    ``standing``: the rejection holds until the spec or the generator changes (not so
    when the endpoint did not answer: the next run asks again)."""
    files = {
        "report.json": json.dumps(report, indent=2, sort_keys=True) + "\n",
        "report.md": report_markdown(report),
    }
    name = _report_name(ctx, item) + (f"-{sha256_text(item['uri'])[:8]}" if per_spec else "")
    report_uri = write_report(ctx.s3(), ctx.bucket, item["pipeline"], name, files)
    progress("%s (%s): rejected: %s", item["pipeline"], item["environment"], reason)
    rejected = {**item, "status": REJECTED, "reason": reason, "report_uri": report_uri}
    if standing:
        record_rejection(ctx.s3(), ctx.bucket, rejected, item["fingerprint"], report_uri)
    return {**rejected, **report_usage(report["totals"])}


def _still_rejected(ctx: FlowContext, item: dict[str, Any]) -> dict[str, Any] | None:
    """The item as rejected again without a run, when it was rejected before under its
    fingerprint and the run is not forced; None when it must run."""
    if ctx.force:
        return None
    record = standing_rejection(
        ctx.s3(), ctx.bucket, item["environment"], item["uri"], item["fingerprint"]
    )
    if record is None:
        return None
    reason = (
        f"rejected on {record['rejected_at']} and unchanged since: {record['reason']} "
        "(change the spec, or force a run)"
    )
    progress("%s (%s): %s", item["pipeline"], item["environment"], reason)
    return {**item, "status": REJECTED, "reason": reason, "report_uri": record["report_uri"]}


def _report_name(ctx: FlowContext, item: Mapping[str, Any]) -> str:
    return f"{ctx.run_key}-{item['environment']}"


def _refuse(
    ctx: FlowContext, item: dict[str, Any], reason: str, problems: Sequence[SpecProblem]
) -> dict[str, Any]:
    """Reject a spec before any model call (its report costs nothing), unless it was
    refused for the same thing before and nothing changed since."""
    still = _still_rejected(ctx, item)
    if still is not None:
        return still
    findings = [Finding(p.source, p.line, p.field, p.message) for p in problems]
    report = build_report(item["pipeline"], False, reason, {}, [], findings, _totals({}, [], []))
    return _reject(ctx, item, reason, report, per_spec=True)


def fingerprint(
    spec: PipelineSpec, router: ModelRouter, settings: GenerationSettings
) -> dict[str, Any]:
    """What decides a bundle's content and trust: spec, generator version, models,
    prompts, strategy, patterns, and the gates it passed (a bundle gated without the
    smoke run is gated again once the smoke run is back on)."""
    return {
        "spec_sha256": spec_sha256(spec),
        "generator_version": __version__,
        "models": router.describe(),
        "prompt_versions": prompt_versions(),
        "strategy": settings.strategy,
        "pattern_versions": pattern_versions(),
        "gates": gates_run(settings),
    }


class _SameRequests:
    """One lock per request content: a request equal to one in flight waits for it, then
    finds the answer in the response cache, as it would have run after it (environments
    of one spec ask the same questions)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def lock(self, request: ChatRequest) -> threading.Lock:
        """The lock of requests equal to ``request``."""
        with self._guard:
            return self._locks.setdefault(repr(request), threading.Lock())


@dataclass
class _TurnTakingClient(ModelClient):
    """A model client that hands its thread's turn on while it waits for the endpoint."""

    turn: threading.Lock = field(default_factory=threading.Lock)
    same: _SameRequests = field(default_factory=_SameRequests)

    @contextmanager
    def outside_turn(self) -> Iterator[None]:
        """Let the other threads run meanwhile (waiting for the endpoint, or for storage)."""
        self.turn.release()
        try:
            yield
        finally:
            self.turn.acquire()

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Answer ``request`` (see :meth:`ModelClient.complete`) without holding the turn."""
        with self.outside_turn(), self.same.lock(request):
            return super().complete(request)


def _with_model(
    work: Callable[[Item, _TurnTakingClient], Result],
    items: Sequence[Item],
    ctx: FlowContext,
    after: Callable[[int], Sequence[int]] = lambda index: (),
) -> list[Result]:
    """``work(item, client)`` for every item, up to ``ctx.concurrency`` at a time, each
    once the items at the indices ``after(index)`` are done; results in input order.

    The threads take turns: one runs stage work at a time, and a thread that waits for
    the model endpoint lets the next one run. So validators (sqlfluff, black, mypy) and
    the work prefix never serve two threads at once, while the endpoint sees up to
    ``ctx.concurrency`` requests. Each thread has its own client (and HTTP connection).
    """
    if not items:
        return []
    turn, same = threading.Lock(), _SameRequests()
    router, cache, prices = ctx.router(), ctx.response_cache(), ctx.prices()

    def run(item: Item) -> Result:
        with turn:
            client = _TurnTakingClient(router, cache=cache, prices=prices, turn=turn, same=same)
            return work(item, client)

    waiting = {index: set(after(index)) for index in range(len(items))}
    awaited = set().union(*waiting.values())
    results: dict[int, Result] = {}
    threads = max(1, min(ctx.concurrency, len(items)))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        running: dict[Future[Result], int] = {}
        while waiting or running:
            # items others wait for first, so that the last ones to run are independent
            ready = sorted((i not in awaited, i) for i, before in waiting.items() if not before)
            for _, index in ready[: threads - len(running)]:
                del waiting[index]
                running[pool.submit(run, items[index])] = index
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                results[index] = future.result()
                for before in waiting.values():
                    before.discard(index)
    return [results[index] for index in range(len(items))]


def prepare(
    uris: Sequence[str], environments: Sequence[str], ctx: FlowContext
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Parse and validate every spec for every environment: the ready ones, and the others
    (unchanged: the published bundle is up to date; rejected: with a report).

    Specs that claim the same pipeline name are all rejected, each with a report naming
    every one of them: none may take the others' work prefix, report, bundle or DAG id.
    """
    router = ctx.router()
    ctx.s3()  # one client for every thread
    workers = max(1, min(ctx.concurrency, len(uris) * len(environments)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parsed = dict(zip(uris, pool.map(lambda uri: _parse(uri, ctx), uris), strict=True))
        names = {
            uri: spec.name for uri, (_, spec) in parsed.items() if isinstance(spec, PipelineSpec)
        }
        clashes = {problem.source: problem for problem in name_clashes(names)}

        def one(pair: tuple[str, str]) -> dict[str, Any]:
            uri, environment = pair
            return _prepare_one(uri, environment, parsed[uri], clashes.get(uri), router, ctx)

        items = list(pool.map(one, [(uri, env) for uri in uris for env in environments]))
    ready = [item for item in items if item["status"] == READY]
    return ready, [item for item in items if item["status"] != READY]


def _parse(uri: str, ctx: FlowContext) -> tuple[str, PipelineSpec | SpecError]:
    """The spec's bytes' sha256, and the spec or why it is invalid."""
    data = ObjectStoragePath(uri, conn_id=ctx.conn_id).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        return digest, parse_spec(data, uri)
    except SpecError as error:
        return digest, error


def _prepare_one(
    uri: str,
    environment: str,
    parsed: tuple[str, PipelineSpec | SpecError],
    clash: SpecProblem | None,
    router: ModelRouter,
    ctx: FlowContext,
) -> dict[str, Any]:
    """Decide one spec in one environment: refused, unchanged, still rejected, or ready.

    A spec rejected before under the same fingerprint (spec, generator, models, prompts,
    strategy, patterns, gates; for a refusal, what it was refused for) is not run again
    until one of them changes or the run is forced.
    """
    bytes_sha256, spec = parsed
    stem = name_from_file(uri) or "spec"
    item: dict[str, Any] = {"uri": uri, "environment": environment, "pipeline": stem}
    refused_as = {"spec_bytes_sha256": bytes_sha256, "generator_version": __version__}
    if isinstance(spec, SpecError):
        return _refuse(ctx, item | {"fingerprint": refused_as}, "invalid spec", spec.problems)
    item["pipeline"] = spec.name
    if clash is not None:
        refused_as |= {"clash": clash.message}
        return _refuse(ctx, item | {"fingerprint": refused_as}, clash.message, [clash])
    expected = fingerprint(spec, router, ctx.settings())
    published, published_sha256 = current_bundle(ctx.s3(), ctx.bucket, environment, spec.name)
    owner = (published or {}).get("spec_source")
    if owner not in (None, uri):
        reason = (
            f"pipeline name {spec.name!r} is published in {environment} from {owner}: give "
            f"this spec a unique `name:` (or remove that bundle to move the pipeline here)"
        )
        refused = item | {"fingerprint": expected | {"owner": owner}}
        return _refuse(ctx, refused, reason, [SpecProblem(uri, None, "name", reason)])
    up_to_date = published is not None and {k: published.get(k) for k in expected} == expected
    if up_to_date and not ctx.force:
        progress("%s (%s): unchanged, the published bundle is up to date", spec.name, environment)
        return {**item, "status": UNCHANGED, "reason": "published bundle is up to date"}
    item["fingerprint"] = expected
    # the bundle this run replaces: a retried publish tells its own earlier work by it
    item["replaces"] = published_sha256
    still = _still_rejected(ctx, item)
    if still is not None:
        return still
    _write_json(
        ctx.work(environment, spec.name) / "spec.json", spec.model_dump(mode="json", by_alias=True)
    )
    return {**item, "status": READY} | ({} if spec.tasks is None else {"tasks": _kinds(spec.tasks)})


def plan(prepared: Sequence[dict[str, Any]], ctx: FlowContext) -> list[dict[str, Any]]:
    """Give every ready spec without tasks its tasks from the planner (or reject it with a
    report); every result maps its task names to their kinds."""
    todo = [item for item in prepared if "tasks" not in item]  # the others list theirs
    planned = iter(_with_model(lambda item, client: _plan_one(item, client, ctx), todo, ctx))
    return [item if "tasks" in item else next(planned) for item in prepared] or [dict(IDLE)]


def _plan_one(
    prepared: dict[str, Any], client: _TurnTakingClient, ctx: FlowContext
) -> dict[str, Any]:
    work = ctx.work(prepared["environment"], prepared["pipeline"])
    spec = PipelineSpec.model_validate(_read_json(work / "spec.json"))
    try:
        result = plan_tasks(spec, client, ctx.settings())
    except (PlanningError, ModelError, PromptBudgetError) as error:
        attempts = error.attempts if isinstance(error, PlanningError) else []
        totals = _totals({}, attempts, ctx.unpriced_models(["plan"]))
        models = ctx.router().describe()
        report = build_report(spec.name, False, str(error), {}, attempts, [], totals, models=models)
        standing = not isinstance(error, ModelError)
        return {**_reject(ctx, prepared, str(error), report, standing=standing), "tasks": {}}
    planned = {
        **spec.model_dump(mode="json", by_alias=True),
        "tasks": [t.model_dump(mode="json") for t in result.tasks],
    }
    _write_json(work / "spec.json", planned)
    _write_json(work / "plan.json", [_plan_attempt(a) for a in result.attempts])
    names = ", ".join(task.name for task in result.tasks)
    progress(
        "%s (%s): planned %d tasks: %s",
        spec.name,
        prepared["environment"],
        len(result.tasks),
        names,
    )
    return {**prepared, "tasks": _kinds(result.tasks)}


def _kinds(tasks: Sequence[TaskSpec]) -> dict[str, str]:
    return {task.name: task.kind for task in tasks}


def batches(planned: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """The planned specs in batches of about ``size`` tasks: one instance each of the
    mapped task group that generates, gates and publishes them.

    Specs stay whole, so a quality suite waits inside its batch for the SQL it checks (its
    prompt lists the tables that SQL writes) and a spec's bundle is gated as soon as its
    batch is generated. A spec larger than ``size`` is a batch of its own.
    """
    groups: list[list[dict[str, Any]]] = []
    filling: list[dict[str, Any]] = []
    tasks = 0
    for spec in planned:
        count = len(spec.get("tasks", {}))
        if filling and count and tasks + count > size:  # one without tasks joins any
            groups.append(filling)
            filling, tasks = [], 0
        filling.append(spec)
        tasks += count
    # never an empty list: a mapped group over nothing is skipped, and dag.test() then
    # passes a scheduling round with nothing to run (an "unrunnable tasks" warning)
    return [*groups, filling] if filling else [[dict(IDLE)]]


def work_items(batch: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """One work item per task of every spec in ``batch``, each spec's suites after its
    other tasks."""
    items: list[dict[str, str]] = []
    for spec in batch:
        tasks = spec.get("tasks", {}).items()
        ordered = sorted(tasks, key=lambda task: task[1] == "quality")  # stable: code first
        items += [
            {"environment": spec["environment"], "pipeline": spec["pipeline"], "task": name}
            | {"kind": kind}
            for name, kind in ordered
        ]
    return items


@cache
def _sql_validator() -> SqlValidator:
    """One SQL validator per process: its sqlfluff linters are built once and reused."""
    return SqlValidator()


def generate(specs_batch: Sequence[dict[str, Any]], ctx: FlowContext) -> list[dict[str, Any]]:
    """Answer, validate and repair the artifact of every task of the specs in
    ``specs_batch`` (one of :func:`batches`), save each to the work prefix; a task starts
    once the tasks it depends on (directly or not) are final, since it reads the tables
    they write and a suite checks them."""
    batch = work_items(specs_batch)
    specs = {
        key: PipelineSpec.model_validate(_read_json(ctx.work(*key) / "spec.json"))
        for key in dict.fromkeys((item["environment"], item["pipeline"]) for item in batch)
    }

    def run(item: dict[str, str], client: _TurnTakingClient) -> dict[str, Any]:
        key = (item["environment"], item["pipeline"])
        return _generate_one(item, specs[key], ctx.work(*key), client, ctx)

    def after(index: int) -> list[int]:
        item = batch[index]
        spec = specs[(item["environment"], item["pipeline"])]
        before = ancestors(spec, item["task"])
        return [
            other
            for other, upstream in enumerate(batch)
            if (upstream["environment"], upstream["pipeline"])
            == (item["environment"], item["pipeline"])
            and upstream["task"] in before
        ]

    return _with_model(run, batch, ctx, after)


def ancestors(spec: PipelineSpec, task: str) -> set[str]:
    """The tasks ``task`` depends on, directly or not."""
    return reachable(task, {t.name: list(t.depends_on) for t in spec.tasks or []})


def _generate_one(
    item: dict[str, str],
    spec: PipelineSpec,
    work: ObjectStoragePath,
    client: _TurnTakingClient,
    ctx: FlowContext,
) -> dict[str, Any]:
    tasks = {t.name: t for t in spec.tasks or []}
    task, artifacts = tasks[item["task"]], work / "artifacts"
    upstream = {  # what the task reads: the tables its upstream tasks' final artifacts write
        name: ArtifactState.from_dict(saved)
        for name in sorted(ancestors(spec, task.name))
        if (saved := _read_json_if_present(artifacts / f"{name}.json")) is not None
    }
    generator = ArtifactGenerator(
        spec,
        list(spec.tasks or []),
        client,
        ctx.settings(),
        sql=_sql_validator(),
        progress=lambda line: progress("%s.%s", spec.name, line),
    )
    try:
        state = generator.first_attempt(task, upstream)
    except (ModelError, PromptBudgetError) as error:  # no artifact: build rejects the spec
        log.warning("%s.%s: no answer: %s", spec.name, task.name, error)
        _write_json(artifacts / f"{task.name}.error.json", {"error": str(error)})
        return {**item, "valid": False}
    with contextlib.suppress(ModelError):  # the attempts so far are kept; it stays invalid
        generator.repair(state)
    with client.outside_turn():
        _write_json(artifacts / f"{task.name}.json", state.to_dict())
    return {**item, "valid": state.valid}


@dataclass
class _Results:
    """A planned spec and what generation made of it, read back from the work prefix."""

    spec: PipelineSpec
    states: dict[str, ArtifactState]
    plan_attempts: list[PlanAttempt]
    unpriced_models: list[str] = field(default_factory=list)
    """The models without a price that answered for this spec."""
    models: dict[str, str] = field(default_factory=dict)
    """The model of each request role."""

    def report(
        self,
        reason: str | None,
        gates: list[Finding],
        gated: GateResult | None = None,
        bundle: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        totals = _totals(self.states, self.plan_attempts, self.unpriced_models)
        return build_report(
            self.spec.name,
            reason is None,
            reason,
            self.states,
            self.plan_attempts,
            gates,
            totals,
            gated.smoke if gated is not None else None,
            models=self.models,
            gate_seconds=gated.seconds if gated is not None else None,
            bundle=bundle,
            sources=self.spec.sources,
            reads=gated.reads if gated is not None else None,
        )


def _results(work: ObjectStoragePath, ctx: FlowContext) -> _Results:
    spec = PipelineSpec.model_validate(_read_json(work / "spec.json"))
    states = {}
    for task in spec.tasks or []:
        saved = _read_json_if_present(work / "artifacts" / f"{task.name}.json")
        states[task.name] = (
            ArtifactState(task, "-") if saved is None else ArtifactState.from_dict(saved)
        )
    attempts = [_plan_attempt_from(a) for a in _read_json_if_present(work / "plan.json") or []]
    roles = {role_of(task) for task in spec.tasks or []} | ({"plan"} if attempts else set())
    return _Results(spec, states, attempts, ctx.unpriced_models(roles), ctx.router().describe())


def build(planned: dict[str, Any], ctx: FlowContext) -> dict[str, Any]:
    """Render one spec's bundle from its artifacts and gate it (types, import, structure,
    smoke run); keep it in the work prefix with its manifest and report when it passes,
    reject it with a report when a task stayed invalid or a gate failed."""
    if planned["status"] != READY:
        return planned
    work = ctx.work(planned["environment"], planned["pipeline"])
    results = _results(work, ctx)
    failed = sorted(name for name, state in results.states.items() if not state.valid)
    unanswered = [name for name in failed if not results.states[name].attempts]
    if unanswered:
        error = work / "artifacts" / f"{unanswered[0]}.error.json"
        why = (_read_json_if_present(error) or {"error": "no artifact"})["error"]
        reason = f"no answer from the model for {', '.join(unanswered)}: {why}"
        return _reject(ctx, planned, reason, results.report(reason, []), standing=False)
    if failed:
        reason = f"still invalid after repairs: {', '.join(failed)}"
        return _reject(ctx, planned, reason, results.report(reason, []))
    tasks = list(results.spec.tasks or [])
    contents = {name: state.content for name, state in results.states.items()}
    records = {name: state.record() for name, state in results.states.items()}
    files = render_bundle(results.spec, tasks, contents, records)
    gates = gate_bundle(results.spec.name, files, ctx.settings())
    blocking = errors(gates.findings)
    if blocking:
        reason = f"bundle gates failed ({len(blocking)} findings)"
        return _reject(ctx, planned, reason, results.report(reason, blocking, gates))
    files["manifest.json"] = build_manifest(
        results.spec.name,
        spec_sha256(results.spec),
        ctx.router(),
        files,
        results.states,
        results.plan_attempts,
        ctx.settings(),
        ctx.prices(),
        spec_source=planned["uri"],
    )
    _write_json(work / "bundle.json", files)
    bundle = bundle_identity(files["manifest.json"])
    _write_json(work / "report.json", results.report(None, [], gates, bundle))
    ran = len((gates.smoke or {}).get("tasks", []))
    progress(
        "%s (%s): every gate passed (smoke run: %d tasks)",
        results.spec.name,
        planned["environment"],
        ran,
    )
    return {**planned, "bundle_uri": str(work / "bundle.json")}


def publish(assembled: dict[str, Any], ctx: FlowContext) -> dict[str, Any]:
    """Publish a gated bundle (files, then DAG, then manifest) with its report."""
    if assembled["status"] != READY:
        return assembled
    work = ctx.work(assembled["environment"], assembled["pipeline"])
    files = _read_json(work / "bundle.json")
    report = _read_json(work / "report.json")
    client = ctx.s3()
    report_files = {
        "report.json": json.dumps(report, indent=2, sort_keys=True) + "\n",
        "report.md": report_markdown(report),
    }
    report_uri = write_report(
        client, ctx.bucket, assembled["pipeline"], _report_name(ctx, assembled), report_files
    )
    result = publish_bundle(
        client,
        ctx.bucket,
        assembled["environment"],
        assembled["pipeline"],
        files,
        report_uri,
        replaces=assembled.get("replaces", UNKNOWN),
    )
    clear_rejection(client, ctx.bucket, assembled["environment"], assembled["uri"])
    published = {key: value for key, value in result.to_dict().items() if key != "uri"}
    status = PUBLISHED if result.published else UNCHANGED
    progress("%s (%s): %s %s", assembled["pipeline"], assembled["environment"], status, result.uri)
    usage = report_usage(report["totals"])
    return {**assembled, **published, **usage, "bundle_uri": result.uri, "status": status}


def _plan_attempt(attempt: PlanAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "answer": attempt.answer,
        "findings": [f.to_dict() for f in attempt.findings],
        "prompt_tokens": attempt.prompt_tokens,
        "completion_tokens": attempt.completion_tokens,
        "cached": attempt.cached,
        "cost_usd": attempt.cost_usd,
        "method": attempt.method,
        "origins": attempt.origins,
    }


def _plan_attempt_from(data: dict[str, Any]) -> PlanAttempt:
    return PlanAttempt(**{**data, "findings": [Finding(**f) for f in data["findings"]]})


def _totals(
    states: Mapping[str, ArtifactState],
    plan_attempts: Sequence[PlanAttempt],
    unpriced_models: list[str],
) -> dict[str, Any]:
    """Calls, tokens and cost of a spec's answers: the cost is the sum of the answers'
    (a cache hit costs nothing), or None when a model without a price answered
    (``unpriced_models`` names the models), never a zero made up for it."""
    answers = [a for s in states.values() for a in s.attempts]
    fresh = [a for a in answers if not a.cached] + [a for a in plan_attempts if not a.cached]
    costs = [a.cost_usd for a in answers] + [a.cost_usd for a in plan_attempts]
    cost = total_cost(costs)
    return {
        "model_calls": len(fresh),
        "cache_hits": len(answers) + len(plan_attempts) - len(fresh),
        "prompt_tokens": sum(a.prompt_tokens for a in fresh),
        "completion_tokens": sum(a.completion_tokens for a in fresh),
        "cost_usd": cost,
        "unpriced_models": unpriced_models if cost is None else [],
        "seconds": round(sum(a.seconds for a in answers if not a.cached), 3),
    }
