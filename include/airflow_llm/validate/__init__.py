"""Validators for generated artifacts; each returns :class:`~.findings.Finding` s."""
