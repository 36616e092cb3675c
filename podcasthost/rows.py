"""Writing many rows with one ``executemany``: for the few paths where the ORM costs too much.

The ORM's ``bulk_create`` and ``update`` compile every value of every row
(tens of µs a row); an analytics ingest of a million log lines, or an import
recording hundreds of episodes, cannot afford it. Only quoted names of our own
models go into the SQL; every value is a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models
from django.db.models.fields import AutoFieldMixin

# Fields whose Python value the database drivers take as it is (str, int, bool,
# float, bytes): no per-value preparation. Any other field (datetimes, JSON,
# files, UUIDs…) goes through its own ``get_db_prep_save``.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.FloatField,
    models.BinaryField,
)


# A field subclass overriding any of these prepares values its own way: it is
# prepared per value. (AutoField's own get_db_prep_value only validates the value.)
_STOCK = {
    name: {getattr(t, name) for t in _AS_IS} | {getattr(AutoFieldMixin, name, None)} - {None}
    for name in ("get_prep_value", "get_db_prep_value", "get_db_prep_save")
}


def _as_is(field: models.Field) -> bool:
    if isinstance(field, models.ForeignKey):
        return _as_is(field.target_field)
    return isinstance(field, _AS_IS) and all(
        getattr(type(field), name) in stock for name, stock in _STOCK.items()
    )


def _preparers(model: type[models.Model], fields: Sequence[str]) -> list:
    """For each field, ``None`` if its values go in as they are, else the field."""
    found = [model._meta.get_field(name) for name in fields]
    return [None if _as_is(field) else field for field in found]


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """INSERT ``rows`` (values in ``fields`` order) with one ``executemany``; returns the count.

    The ORM's ``bulk_create`` builds a model instance and compiles every value
    of every row, about 30 µs a row; a log of a million lines cannot afford it.
    Values that need the database's form (datetimes, JSON) go through their
    field's ``get_db_prep_save`` (memoised per datetime: log lines share seconds).
    """
    qn = connection.ops.quote_name
    columns = ", ".join(qn(model._meta.get_field(f).column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Only quoted names of our own models go into the SQL; every value is a parameter.
    table = qn(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    preparers = _preparers(model, fields)
    memo: dict[Any, Any] = {}
    adapt_datetime = connection.ops.adapt_datetimefield_value
    if connection.vendor == "sqlite" and connection.timezone == UTC:
        # What SQLite's adaptation makes of an aware UTC datetime (naive UTC text),
        # without its per-value settings and timezone lookups.
        def adapt_datetime(value, adapt=adapt_datetime):
            if value.tzinfo is UTC:
                return str(value.replace(tzinfo=None))
            return adapt(value)

    # Only the few columns that need a database form are touched: a Python call
    # per value of every row would cost more than the INSERT itself.
    special = [(i, f) for i, f in enumerate(preparers) if f is not None]

    def prepare(field, value):
        if value is None:
            return value
        if not isinstance(field, models.DateTimeField):
            return field.get_db_prep_save(value, connection)
        if isinstance(value, datetime) and value.utcoffset() is not None:
            # An aware datetime needs only the backend's adaptation; the field's
            # get_prep_value would only check awareness, at twice the cost.
            return adapt_datetime(value)
        found = memo.get(value)
        if found is None:
            if len(memo) > 100_000:
                memo.clear()
            found = memo[value] = field.get_db_prep_save(value, connection)
        return found

    if special:
        params = []
        for row in rows:
            values = list(row)
            for i, field in special:
                values[i] = prepare(field, values[i])
            params.append(values)
    else:
        params = list(rows)
    if not params:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


def update_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    where: Sequence[str] = (),
) -> int:
    """``UPDATE … SET fields WHERE id = … [AND where = …]`` per row; one ``executemany``.

    Each row is ``(*values, pk, *where_values)``: with ``where`` a row is
    written only if it still holds those values (a compare-and-swap).
    Returns the number of rows given, not the number written.
    """
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(model._meta.get_field(f).column)} = %s" for f in fields)
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    guards = "".join(f" AND {qn(model._meta.get_field(f).column)} = %s" for f in where)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s{guards}"  # noqa: S608
    preparers = [*_preparers(model, fields), None, *_preparers(model, where)]
    params = [
        tuple(
            v if f is None else f.get_db_prep_save(v, connection)
            for f, v in zip(preparers, row, strict=True)
        )
        for row in rows
    ]
    if not params:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)
