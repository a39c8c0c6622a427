"""Cost-aware choice of model endpoints and compute (``airflow-llm cost``)."""

from airflow_llm.cost.catalog import ComputeCatalog, ComputeOption
from airflow_llm.cost.scheduler import (
    Constraints,
    CostAwareScheduler,
    NothingMeetsError,
    ResourceChoice,
    Targets,
    Workload,
)

__all__ = [
    "ComputeCatalog",
    "ComputeOption",
    "Constraints",
    "CostAwareScheduler",
    "NothingMeetsError",
    "ResourceChoice",
    "Targets",
    "Workload",
]
