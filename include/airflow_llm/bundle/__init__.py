"""Deterministic rendering of a DAG bundle: DAG file, resources, manifest."""
