"""The Bundles view: what the bucket holds (current bundles, their versions, promotions,
rejections and reports), as HTML pages and Prometheus metrics in Airflow's API server.

:mod:`~airflow_llm.bundles_view.catalog` reads the bucket, :mod:`.metrics` turns it into
metrics, :mod:`.pages` into HTML, :mod:`.app` serves both, :mod:`.plugin` wires the app
into Airflow (``plugins/bundles_view.py``).
"""
