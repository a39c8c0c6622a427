"""Plain-text summary tables."""

from airflow_llm.tables import format_table


def test_columns_align_and_lines_have_no_trailing_spaces() -> None:
    table = format_table(["spec", "tasks"], [("orders_etl", 3), ("x", "planned")])
    assert table.splitlines() == [
        "spec        tasks",
        "----------  -------",
        "orders_etl  3",
        "x           planned",
    ]
