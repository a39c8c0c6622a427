"""The bench's switch for the bundle gates: stubbed, every bundle passes them at once.

The bulk runs measure the generation fan-out; a gate costs seconds of CPU per bundle
(see the gate figure) and is measured on its own, and on the cluster beside its
stubbed twin.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from airflow_llm.gates import GateResult


def stubbed_gates() -> mock._patch[Any]:
    """A patch of the flow's gates: no findings, no smoke run, at once."""
    return mock.patch("airflow_llm.stages.gate_bundle", return_value=GateResult([]))
