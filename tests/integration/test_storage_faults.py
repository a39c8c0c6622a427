"""Storage faults against a real SeaweedFS: the server killed mid-publish, a rerun after
its restart, and concurrent publishes of the same pipeline."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.process import ManagedProcess
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.embedded.services import EmbeddedServices
from airflow_llm.publish import (
    MANIFEST,
    ConcurrentPublishError,
    PublishResult,
    current_manifest,
    manifest_sha256,
    publish_bundle,
    read_manifest,
)
from airflow_llm.validate.findings import sha256_text
from tests.integration.test_publish import bundle, keys

pytestmark = pytest.mark.integration


@dataclass
class KillableS3:
    """A SeaweedFS of this module's own, which a test may SIGKILL and start again."""

    config: EmbeddedConfig
    process: ManagedProcess

    def kill(self) -> None:
        """SIGKILL the server (its whole process group) and wait until it is gone."""
        pid = self.process.running_pid()
        assert pid is not None, "the server is not running"
        os.killpg(pid, signal.SIGKILL)
        while self.process.running_pid() is not None:
            time.sleep(0.05)

    def restart(self) -> None:
        """Start it again on the same ports and data dir; wait until objects can be written
        and read (after a restart, writes can stall for seconds while its volume server
        registers again)."""
        self.process.start()
        client = s3_client(self.config, timeout=2.0)
        for _ in range(100):
            try:
                client.put_object(Bucket=self.config.bucket, Key="probe", Body=b"up")
                client.get_object(Bucket=self.config.bucket, Key="probe")["Body"].read()
                return
            except (BotoCoreError, ClientError):
                time.sleep(0.2)
        raise TimeoutError("SeaweedFS did not serve objects after its restart")


@pytest.fixture(scope="module")
def killable_s3(
    tmp_path_factory: pytest.TempPathFactory, fresh_config: Callable[[Path], EmbeddedConfig]
) -> Iterator[KillableS3]:
    config = fresh_config(tmp_path_factory.mktemp("killable-s3"))
    process = EmbeddedServices(config).s3()
    process.start()
    try:
        yield KillableS3(config, process)
    finally:
        process.stop()


class PutHook:
    """A boto3 client whose ``put_object`` calls ``before(n)`` ahead of its n-th put, and
    whose ``delete_object`` calls ``before_delete(n)`` ahead of its n-th delete."""

    def __init__(
        self,
        client: Any,
        before: Callable[[int], None],
        before_delete: Callable[[int], None] = lambda delete: None,
    ) -> None:
        self._client = client
        self._before = before
        self._before_delete = before_delete
        self._puts = 0
        self._deletes = 0

    def put_object(self, **request: Any) -> Any:
        self._puts += 1
        self._before(self._puts)
        return self._client.put_object(**request)

    def delete_object(self, **request: Any) -> Any:
        self._deletes += 1
        self._before_delete(self._deletes)
        return self._client.delete_object(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def read(client: Any, bucket: str, key: str) -> str:
    return str(client.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def version_dirs(client: Any, bucket: str, pipeline: str) -> set[str]:
    """Every version folder of ``pipeline`` in dev, with or without a manifest."""
    return {key.split("/")[0] for key in keys(client, bucket, f"bundle-versions/dev/{pipeline}/")}


def trusted_sha256s(client: Any, bucket: str, pipeline: str) -> dict[str, str]:
    """``prefix -> manifest sha256`` of every prefix a reader trusts (it has a manifest),
    after checking that each lists exactly the files beside it, with their sha256."""
    prefixes = [f"bundles/dev/{pipeline}/"] + [
        f"bundle-versions/dev/{pipeline}/{version}/"
        for version in version_dirs(client, bucket, pipeline)
    ]
    trusted = {}
    for prefix in prefixes:
        text, _ = read_manifest(client, bucket, prefix)
        if text is None:
            continue
        present = {
            key: sha256_text(read(client, bucket, prefix + key))
            for key in keys(client, bucket, prefix)
            if key != MANIFEST
        }
        assert present == json.loads(text)["files"], f"{prefix} does not hold its manifest's files"
        trusted[prefix] = manifest_sha256(text)
    return trusted


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "puts_before_kill",
    [3, 7, 8],
    ids=["mid-version", "mid-current-files", "before-current-manifest"],
)
def test_a_publish_killed_mid_way_shows_no_partial_bundle_and_a_rerun_converges(
    killable_s3: KillableS3, puts_before_kill: int
) -> None:
    bucket, pipeline = killable_s3.config.bucket, f"killed_{puts_before_kill}"
    old, new = bundle(pipeline, "SELECT 1\n"), bundle(pipeline, "SELECT 2\n")
    old_result = publish_bundle(
        s3_client(killable_s3.config), bucket, "dev", pipeline, old, "run_1"
    )

    def kill_at(put: int) -> None:
        if put == puts_before_kill + 1:
            killable_s3.kill()

    hooked = PutHook(s3_client(killable_s3.config), kill_at)
    with pytest.raises(BotoCoreError):
        publish_bundle(hooked, bucket, "dev", pipeline, new, "run_2")
    killable_s3.restart()
    client = s3_client(killable_s3.config)

    trusted = trusted_sha256s(client, bucket, pipeline)
    current = trusted.get(f"bundles/dev/{pipeline}/")
    assert current in (None, old_result.sha256), "the current bundle is whole or untrusted"

    rerun = publish_bundle(client, bucket, "dev", pipeline, new, "run_2")  # e.g. a task retry
    assert rerun.published
    assert rerun.sha256 == manifest_sha256(new[MANIFEST])
    assert version_dirs(client, bucket, pipeline) == {old_result.version, rerun.version}
    assert trusted_sha256s(client, bucket, pipeline) == {
        f"bundles/dev/{pipeline}/": rerun.sha256,
        f"bundle-versions/dev/{pipeline}/{old_result.version}/": old_result.sha256,
        f"bundle-versions/dev/{pipeline}/{rerun.version}/": rerun.sha256,
    }, "no orphan version: every version folder has its manifest"
    assert keys(client, bucket, f"leases/dev/{pipeline}") == [], "the lease is released"
    again = publish_bundle(client, bucket, "dev", pipeline, new, "run_3")
    assert (again.published, again.version) == (False, rerun.version)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("knows_what_it_replaces", [True, False], ids=["replaces", "lease"])
def test_a_publish_killed_after_its_manifest_write_is_finished_and_announced_by_its_retry(
    killable_s3: KillableS3, knows_what_it_replaces: bool
) -> None:
    """The retry knows the bundle its run replaces (the generation flow), or only that
    its run's lease is still held (promotion)."""
    bucket = killable_s3.config.bucket
    pipeline = f"killed_after_manifest_{knows_what_it_replaces}".lower()
    old, new = bundle(pipeline, "SELECT 1\n"), bundle(pipeline, "SELECT 2\n", task="load_v2")
    old_result = publish_bundle(
        s3_client(killable_s3.config), bucket, "dev", pipeline, old, "run_1"
    )

    def kill_at(delete: int) -> None:
        if delete == 2:  # the old manifest's delete came first; next, the stale load.sql's
            killable_s3.kill()

    replaces = {"replaces": old_result.sha256} if knows_what_it_replaces else {}
    hooked = PutHook(s3_client(killable_s3.config), lambda put: None, kill_at)
    with pytest.raises(BotoCoreError):
        publish_bundle(hooked, bucket, "dev", pipeline, new, "run_2", **replaces)
    killable_s3.restart()
    client = s3_client(killable_s3.config)
    current = f"bundles/dev/{pipeline}/"
    assert read_manifest(client, bucket, current)[0] == new[MANIFEST], "new bundle is current"
    assert f"dags/resources/{pipeline}/load.sql" in keys(client, bucket, current), "stale file"
    assert keys(client, bucket, f"leases/dev/{pipeline}") != [], "the dead attempt's lease"

    retry = publish_bundle(client, bucket, "dev", pipeline, new, "run_2", **replaces)
    assert retry.published, "the retry announces the bundle its first attempt made current"
    assert keys(client, bucket, current) == sorted(new), "stale files deleted"
    assert keys(client, bucket, f"leases/dev/{pipeline}") == [], "the lease is released"
    later = {"replaces": retry.sha256} if knows_what_it_replaces else {}
    again = publish_bundle(client, bucket, "dev", pipeline, new, "run_3", **later)
    assert not again.published, "a later run with the same bundle changes nothing"


@pytest.mark.timeout(60)
def test_a_lease_left_by_a_dead_run_blocks_other_runs_until_it_is_abandoned(
    killable_s3: KillableS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, pipeline = killable_s3.config.bucket, "dead_lease"
    files = bundle(pipeline, "SELECT 1\n")

    def kill_at(put: int) -> None:
        if put == 2:
            killable_s3.kill()

    with pytest.raises(BotoCoreError):
        publish_bundle(
            PutHook(s3_client(killable_s3.config), kill_at), bucket, "dev", pipeline, files, "a"
        )
    killable_s3.restart()
    client = s3_client(killable_s3.config)
    with pytest.raises(ConcurrentPublishError, match="held by another publish"):
        publish_bundle(client, bucket, "dev", pipeline, files, "b", lease_wait=0.3)
    monkeypatch.setattr("airflow_llm.publish.LEASE_SECONDS", 0)
    assert publish_bundle(client, bucket, "dev", pipeline, files, "b", lease_wait=0).published
    assert current_manifest(client, bucket, "dev", pipeline) == json.loads(files[MANIFEST])


def race(config: EmbeddedConfig, runs: list[tuple[dict[str, str], str]]) -> list[PublishResult]:
    """Publish each ``(files, report_uri)`` from its own thread, all starting together;
    every put is slowed down so that the publishes overlap."""
    start = threading.Barrier(len(runs))
    clients = [PutHook(s3_client(config), lambda put: time.sleep(0.05)) for _ in runs]

    def publish(client: PutHook, files: dict[str, str], report_uri: str) -> PublishResult:
        pipeline = json.loads(files[MANIFEST])["pipeline"]
        start.wait()
        return publish_bundle(client, config.bucket, "dev", pipeline, files, report_uri)

    with ThreadPoolExecutor(len(runs)) as pool:
        futures = [pool.submit(publish, c, f, r) for c, (f, r) in zip(clients, runs, strict=True)]
        return [future.result() for future in futures]


@pytest.mark.timeout(60)
def test_concurrent_publishes_of_the_same_bundle_publish_it_once(
    s3_server: EmbeddedConfig,
) -> None:
    files = bundle("race_same", "SELECT 1\n")
    results = race(s3_server, [(files, "run_a"), (files, "run_b"), (files, "run_c")])
    assert sorted(result.published for result in results) == [False, False, True]
    client = s3_client(s3_server)
    (version,) = {result.version for result in results}
    assert version_dirs(client, s3_server.bucket, "race_same") == {version}
    assert set(trusted_sha256s(client, s3_server.bucket, "race_same").values()) == {
        results[0].sha256
    }
    assert keys(client, s3_server.bucket, "leases/dev/race_same") == []


@pytest.mark.timeout(60)
def test_concurrent_publishes_of_different_bundles_never_mix_their_files(
    s3_server: EmbeddedConfig,
) -> None:
    first, second = bundle("race_diff", "SELECT 1\n"), bundle("race_diff", "SELECT 2\n")
    results = race(s3_server, [(first, "run_a"), (second, "run_b")])
    assert [result.published for result in results] == [True, True], "one after the other"
    client = s3_client(s3_server)
    trusted = trusted_sha256s(client, s3_server.bucket, "race_diff")
    assert set(trusted.values()) == {result.sha256 for result in results}
    assert trusted["bundles/dev/race_diff/"] in {result.sha256 for result in results}
    assert len(version_dirs(client, s3_server.bucket, "race_diff")) == 2
