"""The smoke run's Elasticsearch stand-in: the provider's hook and the official client
index through it as through a cluster, and it refuses what a cluster refuses, which
fails the client's ``bulk`` call."""

from __future__ import annotations

import json

import pytest
from airflow.providers.elasticsearch.hooks.elasticsearch import ElasticsearchSQLHook
from elasticsearch.helpers import BulkIndexError, bulk

from airflow_llm.validate.elasticsearch_stand_in import (
    alias_problems,
    bulk_items,
    elasticsearch_stand_in,
)


def ndjson(*lines: object) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def test_bulk_items_accept_documents_and_refuse_what_a_cluster_refuses() -> None:
    body = ndjson(
        {"index": {"_index": "terms", "_id": "1"}},
        {"label": "a"},
        {"index": {"_id": "2"}},
        {"label": "b"},
        {"index": {"_index": "Terms", "_id": "3"}},
        {"label": "c"},
        {"create": {"_index": "terms", "_id": "4"}},
        ["not", "an", "object"],
        {"delete": {"_index": "terms", "_id": "1"}},
    )
    statuses = [next(iter(item.values()))["status"] for item in bulk_items(body, "fallback")]
    assert statuses == [201, 201, 400, 400, 201]
    assert bulk_items(ndjson({"upsert": {}}, {}), None)[0]["index"]["status"] == 400
    assert bulk_items(b"not json\n", None)[0]["index"]["error"]["reason"] == (
        "action line is not JSON"
    )


def test_alias_actions_a_cluster_refuses() -> None:
    swap = {
        "actions": [
            {"remove": {"index": "*", "alias": "terms"}},
            {"add": {"index": "t2", "alias": "terms"}},
        ]
    }
    assert alias_problems(json.dumps(swap).encode()) == []
    assert alias_problems(b"[]") == ["the body is not a JSON object"]
    assert alias_problems(b'{"actions": []}') == ["no actions"]
    bad = {"actions": [{"add": {"index": "*", "alias": "Terms"}}, {"rename": {}}]}
    assert alias_problems(json.dumps(bad).encode()) == [
        "invalid index name '*'",
        "invalid alias name 'Terms'",
        "not an alias action: {'rename': {}}",
    ]


def test_the_hook_indexes_through_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ES_SMOKE_TEST", "unset")  # restored after the test
    with elasticsearch_stand_in(["es_smoke_test"]):
        client = ElasticsearchSQLHook(elasticsearch_conn_id="es_smoke_test").get_conn().es
        documents = [{"_index": "terms", "_id": str(n), "_source": {"n": n}} for n in range(3)]
        assert bulk(client, documents) == (3, [])
        with pytest.raises(BulkIndexError, match="1 document"):
            bulk(client, [{"_index": "Not Valid", "_id": "x", "_source": {"n": 1}}])
