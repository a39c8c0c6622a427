"""The embedded SeaweedFS server, started for real, used through boto3 and ObjectStoragePath."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from airflow_llm.connections import S3_CONN_ID
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.intake import check_spec_object, discover_spec_uris
from airflow_llm.storage import storage_path, upload_specs

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_bucket_exists_and_objects_round_trip(s3_server: EmbeddedConfig) -> None:
    client = s3_client(s3_server)
    assert s3_server.bucket in [b["Name"] for b in client.list_buckets()["Buckets"]]
    client.put_object(Bucket=s3_server.bucket, Key="t/roundtrip.txt", Body=b"hello")
    body = client.get_object(Bucket=s3_server.bucket, Key="t/roundtrip.txt")["Body"].read()
    assert body == b"hello"


def test_conditional_write_refuses_to_overwrite(s3_server: EmbeddedConfig) -> None:
    client = s3_client(s3_server)
    client.put_object(Bucket=s3_server.bucket, Key="t/once.json", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket=s3_server.bucket, Key="t/once.json", Body=b"2", IfNoneMatch="*")
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"


def test_wrong_credentials_are_rejected(s3_server: EmbeddedConfig) -> None:
    intruder = boto3.client(
        "s3",
        endpoint_url=s3_server.s3_endpoint,
        aws_access_key_id="nobody",
        aws_secret_access_key="wrong",
        region_name="us-east-1",
    )
    with pytest.raises(ClientError) as caught:
        intruder.list_objects_v2(Bucket=s3_server.bucket)
    assert caught.value.response["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied")


def test_object_storage_path_through_an_airflow_connection(s3_connection: EmbeddedConfig) -> None:
    prefix_uri = f"s3://{s3_connection.bucket}/specs-it/"
    prefix = storage_path(prefix_uri, S3_CONN_ID)
    uploaded = upload_specs(REPO_ROOT / "specs", prefix)
    (prefix / "broken.yml").write_bytes(b"name: Broken\ndescription: d\n")
    (prefix / "README.json").write_bytes(b"{}")  # not a spec: never listed

    uris = discover_spec_uris(prefix_uri, S3_CONN_ID)
    assert len(uris) == len(uploaded) + 1
    assert all(uri.startswith(prefix_uri) for uri in uris)

    checks = {uri.rsplit("/", 1)[-1]: check_spec_object(uri, S3_CONN_ID) for uri in uris}
    assert checks["orders_etl.yml"]["valid"] is True
    assert checks["orders_etl.yml"]["tasks"] == 3
    assert checks["broken.yml"]["problems"] == [
        f"{prefix_uri}broken.yml:1: name: 'Broken' is not valid: "
        "use lower snake_case starting with a letter, 1-64 characters"
    ]
