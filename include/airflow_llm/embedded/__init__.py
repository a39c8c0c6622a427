"""Embedded services for a laptop or CI: a SeaweedFS S3 server and a llama.cpp model server.

The product talks to them through the same code paths it uses for AWS S3 and vLLM.
"""
