"""A local Airflow cluster from the project's own files: PostgreSQL as the metadata
database, Redis as the Celery broker, the scheduler, dag-processor, triggerer, API server
and two Celery workers, beside the embedded S3 and model servers (``make cluster-up``).
"""
