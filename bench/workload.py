"""The bulk workload: 20 specs of 5 explicit tasks each, and valid answers by prompt role.

Every spec has three SQL tasks, one Great Expectations suite and one Python task, so
each artifact goes through its real validators (sqlfluff and the SQL policy; black,
the AST policy and mypy; the suite checks). The answers are what a good coder model
would write (about 160-210 tokens each) and pass on the first attempt, so the bench
measures orchestration and validation, not the repair loop.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.scripted_endpoint import Answer

SPEC_COUNT = 20
SPEC_TEMPLATE = """\
name: {name}
description: >
  Bench pipeline {number}: stage the day's orders, total them per customer, check the
  totals, publish them and report on them.
schedule: "@daily"
owners: [bench]
dialect: postgres
environments:
  dev: {{conn_id: warehouse_dev, schema: analytics_dev}}
sources:
  - name: orders
    columns:
      {{order_id: BIGINT, customer_id: BIGINT, amount: "NUMERIC(12,2)", ordered_at: TIMESTAMP}}
tasks:
  - name: stage_orders
    kind: sql
    description: Keep the day's orders with a customer and an amount in stage_orders.
  - name: daily_totals
    kind: sql
    depends_on: stage_orders
    description: Count and sum the day's orders per customer into daily_totals.
  - name: check_daily_totals
    kind: quality
    depends_on: daily_totals
    description: customer_id and order_date are set; counts and amounts are in range.
  - name: publish_totals
    kind: sql
    depends_on: check_daily_totals
    description: Copy the checked totals into publish_totals for the finance team.
  - name: report_totals
    kind: python
    depends_on: publish_totals
    description: Log a summary of the published totals and return it.
"""

SQL = """\
```sql
-- {task}: the day's orders per customer, recomputed from the source on every run
-- (the day's rows replaced: idempotent for a logical date, as the smoke run checks).
CREATE TABLE IF NOT EXISTS {{{{ params.schema }}}}.{task} (
    customer_id BIGINT,
    order_date DATE,
    order_count BIGINT,
    total_amount NUMERIC(12, 2),
    average_amount NUMERIC(12, 2),
    largest_amount NUMERIC(12, 2)
);

DELETE FROM {{{{ params.schema }}}}.{task} WHERE order_date = CAST('{{{{ ds }}}}' AS DATE);

INSERT INTO {{{{ params.schema }}}}.{task} (
    customer_id,
    order_date,
    order_count,
    total_amount,
    average_amount,
    largest_amount
)
WITH day_orders AS (
    SELECT
        customer_id,
        amount,
        CAST(ordered_at AS DATE) AS order_date
    FROM orders
    WHERE
        CAST(ordered_at AS DATE) = '{{{{ ds }}}}'
        AND amount IS NOT NULL
        AND customer_id IS NOT NULL
)

SELECT
    customer_id,
    order_date,
    COUNT(*) AS order_count,
    SUM(amount) AS total_amount,
    AVG(amount) AS average_amount,
    MAX(amount) AS largest_amount
FROM day_orders
GROUP BY customer_id, order_date
```"""

PYTHON = '''\
```python
def run(config, upstream, item=None):
    """Summarise the day's totals for the finance report."""
    rows = upstream.get("publish_totals") or []
    if not isinstance(rows, list):
        log.warning("unexpected upstream value: %r", type(rows).__name__)
        rows = []
    customers = set()
    total = 0.0
    largest = 0.0
    for row in rows:
        if not isinstance(row, dict):
            continue
        customers.add(row.get("customer_id"))
        amount = float(row.get("total_amount") or 0.0)
        total += amount
        largest = max(largest, amount)
    summary = {
        "schema": config.get("schema"),
        "customers": len(customers),
        "total_amount": round(total, 2),
        "largest_amount": round(largest, 2),
    }
    log.info("daily totals: %s", summary)
    return summary
```'''

SUITE = json.dumps(
    {
        "table": "daily_totals",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_date"}},
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "order_count", "min_value": 1, "max_value": 100000},
            },
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "total_amount", "min_value": 0, "max_value": 10000000},
            },
            {
                "type": "expect_table_row_count_to_be_between",
                "kwargs": {"min_value": 0, "max_value": 1000000},
            },
        ],
    }
)
_TASK = re.compile(r"^Task: (\w+)$", re.MULTILINE)


def spec_name(number: int) -> str:
    """The pipeline name of bench spec ``number``."""
    return f"bench_pipeline_{number:02d}"


def bench_specs(count: int = SPEC_COUNT) -> dict[str, str]:
    """``<name>.yml -> YAML`` for ``count`` specs (the same every time)."""
    return {
        f"{spec_name(n)}.yml": SPEC_TEMPLATE.format(name=spec_name(n), number=n)
        for n in range(count)
    }


def upload_bench_specs(client: Any, bucket: str, count: int = SPEC_COUNT) -> list[str]:
    """Put ``count`` bench specs under ``specs/`` of ``bucket`` (an S3 client's); their
    URIs."""
    uris = []
    for name, text in bench_specs(count).items():
        client.put_object(Bucket=bucket, Key=f"specs/{name}", Body=text.encode())
        uris.append(f"s3://{bucket}/specs/{name}")
    return uris


def sql_answer(body: dict[str, Any]) -> str:
    """SQL writing the table named after the task the prompt asks for."""
    match = _TASK.search(body["messages"][-1]["content"])
    return SQL.format(task=match.group(1) if match else "totals")


def answers() -> dict[str, list[Answer]]:
    """Valid answers per prompt role."""
    return {"sql": [sql_answer], "python": [PYTHON], "quality": [SUITE]}
