"""``airflow-llm eval``: how well generation does on material no one here wrote.

``corpus`` (spec files), ``reference`` (the structure a description states),
``matching`` (fuzzy names, precision/recall), ``runner`` (generate and measure each
spec), ``sql_questions``, ``result_sets`` and ``sql_accuracy`` (NL -> SQL execution
accuracy on DuckDB), ``results`` (totals, tables, files), ``harness`` (one run).
"""
