"""HTML pages of the Bundles view: Jinja2 templates with autoescaping, and reports'
Markdown rendered with raw HTML turned off (a report quotes model output and specs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from airflow_llm.bundles_view.catalog import Catalog, Report

TEMPLATES = Path(__file__).parent / "templates"
UrlFor = Callable[..., str]
"""``url(route_name, **path_params)``: the path of one of the view's pages."""


def overview_page(catalog: Catalog, url: UrlFor) -> str:
    """Every environment's current bundles, the standing rejections and recent history."""
    return _render("overview.html.j2", catalog, url)


def bundle_page(
    catalog: Catalog, url: UrlFor, environment: str, pipeline: str, markdown: str | None
) -> str:
    """One pipeline in one environment: its current bundle, the report it was generated
    with (smoke run, tokens, cost, and ``markdown``, the report itself) and its history."""
    return _render(
        "bundle.html.j2",
        catalog,
        url,
        environment=environment,
        pipeline=pipeline,
        bundle=catalog.bundle(environment, pipeline),
        report=shown_report(catalog, environment, pipeline),
        markdown=markdown_html(markdown),
    )


def report_page(catalog: Catalog, url: UrlFor, report: Report, markdown: str | None) -> str:
    """One run's report."""
    return _render("report.html.j2", catalog, url, report=report, markdown=markdown_html(markdown))


def shown_report(catalog: Catalog, environment: str, pipeline: str) -> Report | None:
    """The report a pipeline's page shows: its current bundle's, else its latest run's."""
    bundle = catalog.bundle(environment, pipeline)
    if bundle is not None:
        return bundle.report
    mine = [r for r in catalog.reports if (r.environment, r.pipeline) == (environment, pipeline)]
    return mine[-1] if mine else None


def markdown_html(text: str | None) -> Markup:
    """A report's Markdown as HTML; raw HTML in it is shown as text."""
    if text is None:
        return Markup('<p class="muted">The report is missing.</p>')
    return Markup(_markdown().render(text))  # noqa: S704 (raw HTML is off: escaped)


def _render(template: str, catalog: Catalog, url: UrlFor, **values: Any) -> str:
    return _templates().get_template(template).render(catalog=catalog, url=url, **values)


@cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    environment.filters["usd"] = _usd
    environment.globals.update(tokens=_tokens, patterns=_patterns)
    return environment


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _usd(cost: float | None) -> str:
    return "n/a" if cost is None else f"${cost:.4f}"


def _tokens(totals: Mapping[str, Any]) -> str:
    if "prompt_tokens" not in totals:
        return "-"
    return f"{totals['prompt_tokens']} in / {totals.get('completion_tokens', 0)} out"


def _patterns(manifest: Mapping[str, Any]) -> list[str]:
    """The patterns a bundle's artifacts were rendered from, each once."""
    artifacts = manifest.get("artifacts") or {}
    found = (a.get("pattern") for a in artifacts.values() if isinstance(a, Mapping))
    return sorted({pattern for pattern in found if pattern})
