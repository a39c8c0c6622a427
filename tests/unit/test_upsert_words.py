"""Words that update a table's rows by key (an upsert), the key they give, and the
table a merge names: generic English and SQL, whatever the step is about."""

from __future__ import annotations

import pytest

from airflow_llm.patterns.upsert_words import merged_table, stated_keys, updates_existing


@pytest.mark.parametrize(
    ("words", "updates"),
    [
        ("Upsert the cleaned rows into the accounts table.", True),
        ("Insert or update each supplier in the suppliers table.", True),
        ("Load them with ON CONFLICT (sku) DO UPDATE SET price = EXCLUDED.price.", True),
        ("Update the existing records and add the new ones.", True),
        ("Update matching rows by account_id.", True),
        ("Merge the fresh prices with the central catalog to update list prices.", True),
        ("Merge the supplier file into the stock ledger; updated rows are logged.", True),
        ("Merge the rows of prices.csv with the catalog to update it.", True),
        # not an upsert: a merge of files, a plain load, keeping rows, an update alone
        ("Merge all five normalized datasets into a unified climate dataset.", False),
        ("Merge point for both branches.", False),
        ("Load the orders into the fact_orders table, updated metrics.", False),
        ("Insert the rows with ON CONFLICT DO NOTHING.", False),
        ("Finalize the workflow by updating metadata with its status.", False),
    ],
)
def test_words_that_update_rows_by_key(words: str, updates: bool) -> None:
    assert updates_existing(words) is updates


@pytest.mark.parametrize(
    ("words", "table"),
    [
        ("Merge the fresh prices with the central catalog system to update prices.", "central_catalog"),
        ("Merge them into the Stock Ledger for the shops.", "stock_ledger"),
        ("Merge the rows into supplier_master, updating rows.", "supplier_master"),
        ("Merge the vendor data with existing records to update them.", None),
        ("Upsert the rows keyed on id.", None),
        ("Merge orders.csv with returns.csv to update the totals.", None),
    ],
)  # fmt: skip
def test_a_merge_names_its_target_table(words: str, table: str | None) -> None:
    assert merged_table(words) == table


COLUMNS = ["sku", "shop_id", "price", "updated_at"]


@pytest.mark.parametrize(
    ("words", "keys"),
    [
        ("Insert the rows, ON CONFLICT (shop_id, sku) DO UPDATE.", ["shop_id", "sku"]),
        ("Upsert the prices keyed by sku, sorted by updated_at.", ["sku"]),
        ("Merge with the catalog to update it. Join operation on sku column.", ["sku"]),
        ("Update existing rows on the shop_id.", ["shop_id"]),
        ("Upsert the prices by sku.", ["sku"]),
        # a key that is no column, or no key at all
        ("Upsert the prices keyed by region.", []),
        ("Upsert the prices on Mondays.", []),
    ],
)
def test_the_key_is_the_first_column_the_words_key_on(words: str, keys: list[str]) -> None:
    assert stated_keys(words, COLUMNS) == keys
