"""``python -m airflow_llm`` is the ``airflow-llm`` command."""

from airflow_llm.cli import main

raise SystemExit(main())
