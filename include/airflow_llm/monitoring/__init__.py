"""DAG performance and cost from Airflow's REST API v2 (``airflow-llm monitor``)."""

from airflow_llm.monitoring.metrics import DagMetrics
from airflow_llm.monitoring.monitor import PerformanceMonitor

__all__ = ["DagMetrics", "PerformanceMonitor"]
