"""The Bundles view's FastAPI app: HTML pages and ``/metrics``, each behind an access
check (Airflow's own, in :mod:`airflow_llm.bundles_view.plugin`)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.params import Depends as Dependency
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from airflow_llm.bundles_view.metrics import CONTENT_TYPE, exposition, registry_for
from airflow_llm.bundles_view.pages import (
    UrlFor,
    bundle_page,
    overview_page,
    report_page,
    shown_report,
)
from airflow_llm.bundles_view.source import CatalogSource, CatalogUnavailableError

Access = Callable[..., None]
"""A FastAPI dependency that raises ``HTTPException`` (401, 403) for a refused request."""


def create_app(source: CatalogSource, access: Access, *, metrics_public: bool = False) -> FastAPI:
    """The view of ``source``'s bucket; every route requires ``access``, ``/metrics`` too
    unless ``metrics_public`` (for a scraper that cannot authenticate)."""
    app = FastAPI(title="airflow-llm bundles", docs_url=None, redoc_url=None, openapi_url=None)
    guarded: list[Dependency] = [Depends(access)]
    registry = registry_for(source.catalog)

    @app.exception_handler(CatalogUnavailableError)
    def unavailable(request: Request, error: Exception) -> Response:
        return PlainTextResponse(str(error), status_code=503)

    @app.get("/", name="overview", dependencies=guarded)
    def overview(request: Request) -> HTMLResponse:
        return HTMLResponse(overview_page(source.catalog(), _paths(request)))

    @app.get("/metrics", name="metrics", dependencies=[] if metrics_public else guarded)
    def metrics() -> Response:
        return Response(exposition(registry), media_type=CONTENT_TYPE)

    @app.get("/reports/{pipeline}/{name}", name="report", dependencies=guarded)
    def report(request: Request, pipeline: str, name: str) -> HTMLResponse:
        catalog = source.catalog()
        found = catalog.report(pipeline, name)
        if found is None:
            raise HTTPException(404, f"no report reports/{pipeline}/{name}.json")
        page = report_page(catalog, _paths(request), found, source.markdown(found))
        return HTMLResponse(page)

    @app.get("/{environment}/{pipeline}", name="bundle", dependencies=guarded)
    def bundle(request: Request, environment: str, pipeline: str) -> HTMLResponse:
        catalog = source.catalog()
        if environment not in catalog.environments:
            raise HTTPException(404, f"no environment {environment!r}")
        shown = shown_report(catalog, environment, pipeline)
        if shown is None and catalog.bundle(environment, pipeline) is None:
            raise HTTPException(404, f"nothing of {pipeline!r} in {environment}")
        markdown = source.markdown(shown) if shown is not None else None
        return HTMLResponse(bundle_page(catalog, _paths(request), environment, pipeline, markdown))

    return app


def _paths(request: Request) -> UrlFor:
    """Paths of the view's pages (under the prefix the app is mounted at)."""

    def url(route: str, /, **params: str) -> str:
        return request.url_for(route, **params).path

    return url
