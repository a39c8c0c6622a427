"""SQL column types as sqlglot reads them in a spec's dialect, sorted into families.

Patterns decide what they may do with a column by its family (sum a number, bucket a
timestamp by day, compare text to a quoted value); sample data decides what values to
make up. Both read the types the spec declares, in the spec's dialect.
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
import sqlglot.expressions as exp

# sqlfluff dialect -> sqlglot dialect, where the names differ.
SQLGLOT_DIALECTS = {"ansi": "", "sparksql": "spark", "db2": "", "greenplum": "postgres"}

_Type = exp.DataType.Type
INTEGERS = frozenset(
    {_Type.TINYINT, _Type.SMALLINT, _Type.INT, _Type.BIGINT, _Type.INT128}
    | {_Type.UTINYINT, _Type.USMALLINT, _Type.UINT, _Type.UBIGINT}
)
DECIMALS = frozenset({_Type.DECIMAL, _Type.DOUBLE, _Type.FLOAT, _Type.MONEY, _Type.BIGDECIMAL})
TIMESTAMPS = frozenset(
    {_Type.TIMESTAMP, _Type.TIMESTAMPTZ, _Type.TIMESTAMPLTZ, _Type.TIMESTAMPNTZ}
    | {_Type.DATETIME, _Type.DATETIME2, _Type.SMALLDATETIME}
)
TEXT = frozenset({_Type.VARCHAR, _Type.CHAR, _Type.TEXT, _Type.NVARCHAR, _Type.NCHAR, _Type.UUID})
DOCUMENTS = frozenset(
    {_Type.JSON, _Type.JSONB, _Type.VARIANT, _Type.OBJECT, _Type.STRUCT, _Type.MAP}
)
SCALARS = INTEGERS | DECIMALS | TIMESTAMPS | TEXT | {_Type.BOOLEAN, _Type.DATE}


def sqlglot_dialect(dialect: str) -> str:
    """sqlglot's name for a sqlfluff dialect ("" is sqlglot's default, close to ANSI)."""
    return SQLGLOT_DIALECTS.get(dialect, dialect)


@lru_cache(maxsize=1024)
def parse_type(declared: str, dialect: str) -> exp.DataType:
    """``declared`` (a type in ``dialect``) as sqlglot's data type; unreadable: VARCHAR.

    Callers must not modify the result (it is cached): ``.copy()`` it first.
    """
    read = sqlglot_dialect(dialect) or None
    try:
        parsed = sqlglot.parse_one(f"CAST(x AS {declared})", read=read)
    except sqlglot.errors.ParseError:
        return exp.DataType.build("VARCHAR")
    cast = parsed if isinstance(parsed, exp.Cast) else parsed.find(exp.Cast)
    return cast.to if cast is not None else exp.DataType.build("VARCHAR")


def type_sql(data_type: exp.DataType, dialect: str) -> str:
    """How ``dialect`` writes ``data_type``."""
    return data_type.sql(sqlglot_dialect(dialect))


def family(declared: str, dialect: str) -> str:
    """``integer``, ``decimal``, ``timestamp``, ``date``, ``boolean``, ``text`` or ``other``."""
    kind = parse_type(declared, dialect).this
    if kind in INTEGERS:
        return "integer"
    if kind in DECIMALS:
        return "decimal"
    if kind in TIMESTAMPS:
        return "timestamp"
    if kind == _Type.DATE:
        return "date"
    if kind == _Type.BOOLEAN:
        return "boolean"
    if kind in TEXT:
        return "text"
    return "other"


def is_numeric(declared: str, dialect: str) -> bool:
    """Integers and decimals: what sums and averages take."""
    return family(declared, dialect) in ("integer", "decimal")


def is_temporal(declared: str, dialect: str) -> bool:
    """Dates and timestamps: what places a row in a logical interval."""
    return family(declared, dialect) in ("timestamp", "date")
