"""The catalog of model endpoints and compute options the generator can run on.

YAML (``config/compute_options.yml`` is the example)::

    baseline: embedded-smollm2      # the option in use now; savings are measured from it
    options:
      - name: gpt-4o-mini           # unique
        model: gpt-4o-mini          # the model it serves
        usd_per_1m_input_tokens: 0.15   # priced per token (a hosted endpoint) ...
        usd_per_1m_output_tokens: 0.60
        tokens_per_second: 600      # completion tokens per second, measured under load
        pass_rate: 0.785            # share of specs that give a published bundle ...
        spot: false
      - name: vllm-l4-spot
        model: Qwen2.5-Coder-7B-Instruct
        usd_per_hour: 0.32          # ... or priced per hour (self-hosted compute)
        tokens_per_second: 450
        pass_rate_from:             # ... or measured by `make eval` for this model
          results: ../eval/results  # a results file, or a folder: its newest
          strategy: auto
        spot: true

``tokens_per_second`` is completion tokens divided by the wall seconds of a real load
(``make bench`` reports it for the embedded model), so prompt processing is included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from airflow_llm.config_files import load_config, require_unique


class EvalPassRate(BaseModel):
    """Where the pass rate was measured: an ``airflow-llm eval`` results file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    results: Path
    """``eval/results/<timestamp>.json``, or a folder of them (its newest is read); a
    relative path is relative to the catalog file."""
    strategy: str = "auto"


class ComputeOption(BaseModel):
    """One way to run the generator's model calls, with its price and measured figures."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    usd_per_hour: float | None = Field(default=None, ge=0)
    usd_per_1m_input_tokens: float | None = Field(default=None, ge=0)
    usd_per_1m_output_tokens: float | None = Field(default=None, ge=0)
    tokens_per_second: float = Field(gt=0)
    pass_rate: float | None = Field(default=None, ge=0, le=1)
    pass_rate_from: EvalPassRate | None = None
    spot: bool = False

    @property
    def hourly(self) -> bool:
        """Priced per hour (compute) rather than per token (an endpoint)."""
        return self.usd_per_hour is not None

    @property
    def measured_pass_rate(self) -> float:
        """The pass rate (read from the eval results when the catalog names them)."""
        if self.pass_rate is None:  # the validator fills it from pass_rate_from
            raise ValueError(f"option {self.name} has no pass rate")
        return self.pass_rate

    @model_validator(mode="after")
    def _one_price(self) -> ComputeOption:
        per_token = (self.usd_per_1m_input_tokens, self.usd_per_1m_output_tokens)
        if self.hourly == any(price is not None for price in per_token):
            raise ValueError(
                "give usd_per_hour, or usd_per_1m_input_tokens and usd_per_1m_output_tokens"
            )
        if not self.hourly and None in per_token:
            raise ValueError("give both usd_per_1m_input_tokens and usd_per_1m_output_tokens")
        return self

    @model_validator(mode="after")
    def _one_pass_rate(self, info: ValidationInfo) -> ComputeOption:
        if (self.pass_rate is None) == (self.pass_rate_from is None):
            raise ValueError("give pass_rate or pass_rate_from (one of them)")
        if self.pass_rate_from is not None:
            catalog_file = (info.context or {}).get("config_file")
            folder = Path(catalog_file).parent if catalog_file else Path.cwd()
            try:
                self.pass_rate = eval_pass_rate(self.pass_rate_from, self.model, folder)
            except ValueError as error:
                raise ValueError(f"pass_rate_from: {error}") from None
        return self


def eval_pass_rate(source: EvalPassRate, model: str, folder: Path) -> float:
    """The gate pass rate (specs that gave a valid bundle / specs loaded) of
    ``source.strategy`` in an eval results file, which must have measured ``model``."""
    path = source.results if source.results.is_absolute() else folder / source.results
    if path.is_dir():
        newest = max(path.glob("*.json"), default=None)  # files are named by their time
        if newest is None:
            raise ValueError(f"{path} holds no eval results (*.json)")
        path = newest
    try:
        runs: dict[str, Any] = json.loads(path.read_text())["runs"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not an `airflow-llm eval` results file ({error})") from None
    run = runs.get(source.strategy)
    if run is None:
        raise ValueError(
            f"{path} has no run of strategy {source.strategy!r} (it has {', '.join(runs)})"
        )
    measured = sorted({identity.split("|", 1)[-1] for identity in run["endpoints"].values()})
    if model not in measured:
        raise ValueError(f"{path} measured {', '.join(measured)}, not {model}")
    rate = run["totals"].get("gate_pass_rate")
    if rate is None:
        raise ValueError(f"{path}: strategy {source.strategy!r} loaded no spec (no pass rate)")
    return float(rate)


class ComputeCatalog(BaseModel):
    """Every option, and the one in use now (the baseline of savings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    baseline: str
    options: list[ComputeOption] = Field(min_length=1)

    @field_validator("options")
    @classmethod
    def _unique_names(cls, options: list[ComputeOption]) -> list[ComputeOption]:
        require_unique((option.name for option in options), "option names")
        return options

    @model_validator(mode="after")
    def _known_baseline(self) -> ComputeCatalog:
        if self.baseline not in {option.name for option in self.options}:
            raise ValueError(f"baseline {self.baseline!r} is not the name of an option")
        return self

    def option(self, name: str) -> ComputeOption:
        """The option called ``name``."""
        return next(option for option in self.options if option.name == name)

    @classmethod
    def load(cls, path: Path) -> ComputeCatalog:
        """The catalog at ``path``; raise :class:`~airflow_llm.config_files.ConfigError`."""
        return load_config(path, cls)
