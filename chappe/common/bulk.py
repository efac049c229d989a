"""Writes of many rows without model instances, for the hot paths.

* `bulk_set`: one column set to a different value per row in a single UPDATE. Django's
  `bulk_update` writes `CASE WHEN id=… THEN … END` for every row and field, which grows
  quadratically slow past a few hundred rows (it was 70 % of the gateway's time). Both
  PostgreSQL and SQLite (≥ 3.33) accept `UPDATE … FROM` a `VALUES` list: one linear
  statement.
* `bulk_insert`: plain tuples by COPY (PostgreSQL) or one prepared `executemany` (SQLite).
* `among`: rows whose column is one of many values, as one array parameter on
  PostgreSQL.
* `RowShape`: the named columns of such tuples, checked once against the model, and
  builders that take every value by name (decision 0022: a positional tuple of 28 values
  is one slip away from writing a sender into a text column).
"""

import keyword
import types
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from django.db import connection, models

CHUNK = 2000


def among[M: models.Model](queryset: models.QuerySet[M], field: str,
                           values: Iterable[Any]) -> models.QuerySet[M]:
    """`queryset` narrowed to rows whose `field` is one of `values`. On PostgreSQL one
    parameter, a comma-joined text the server splits and casts (`= ANY(…)`): Django's
    `__in` makes a placeholder and prepares a value in Python for each item, a tenth of
    the gateway's time on claims of hundreds of ids, and PostgreSQL plans long IN lists
    slowly. The values must not contain a comma (ids, E.164 numbers, digests). Elsewhere
    `__in`: the caller keeps SQLite's lists under its parameter limit."""
    if connection.vendor != "postgresql":
        return queryset.filter(**{f"{field}__in": list(values)})
    meta = queryset.model._meta
    model_field = meta.pk if field == "pk" else meta.get_field(field)
    column = (f"{connection.ops.quote_name(meta.db_table)}."
              f"{connection.ops.quote_name(model_field.column)}")
    cast = model_field.db_type(connection)
    cast = "" if cast.startswith(("varchar", "text")) else f"::{cast}[]"
    return queryset.extra(  # noqa: S610 (names are ours and quoted; the values a parameter)
        where=[f"{column} = ANY(string_to_array(%s, ','){cast})"],
        params=[",".join(str(value) for value in values)])


def bulk_set(model: type[models.Model], field: str, values: Mapping[Any, Any], *,
             also: Mapping[str, Any] | None = None) -> None:
    """UPDATE model SET field = values[pk] (and each field of `also` to its one value,
    in the same statement: one new row version, not one per field) for every pk given."""
    if not values:
        return
    meta = model._meta
    pk, column = meta.pk, meta.get_field(field)
    table, pk_col, col = (connection.ops.quote_name(n)
                          for n in (meta.db_table, pk.column, column.column))
    pk_type = pk.db_type(connection) if connection.vendor == "postgresql" else None
    value_type = column.db_type(connection) if connection.vendor == "postgresql" else None
    placeholder = (f"(%s::{pk_type}, %s::{value_type})" if pk_type else "(%s, %s)")
    constants = [(connection.ops.quote_name(meta.get_field(name).column),
                  meta.get_field(name).get_db_prep_save(value, connection))
                 for name, value in (also or {}).items()]
    assignments = "".join(f", {name} = %s" for name, _value in constants)
    items = list(values.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            params: list[Any] = []
            for key, value in chunk:
                params.append(pk.get_db_prep_value(key, connection))
                params.append(column.get_db_prep_save(value, connection))
            params += [value for _name, value in constants]
            rows = ", ".join([placeholder] * len(chunk))
            cursor.execute(
                f"WITH v(k, val) AS (VALUES {rows}) "  # noqa: S608 (names are quoted identifiers)
                f"UPDATE {table} SET {col} = v.val{assignments} FROM v "
                f"WHERE {table}.{pk_col} = v.k",
                params,
            )


def bulk_insert(model: type[models.Model], columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> int:
    """INSERT plain tuples (values in `columns` order, by field attname) without building
    model instances: `COPY … FROM STDIN` on PostgreSQL, one prepared `executemany` on
    SQLite. For the hot paths that write hundreds of thousands of rows (acceptance of a
    campaign, SMPP ingest), where `bulk_create` spends most of its time in `Model.__init__`
    and SQL compilation. Defaults and `auto_now_add` are not applied: give every column."""
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The raw psycopg cursor: Django's wrapper has no COPY. Errors are wrapped as
            # Django's (IntegrityError…) like any other query's. Binary COPY with the
            # column types given up front is ~4x faster than text (no per-value lookup).
            with (connection.wrap_database_errors,
                  cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)")
                  as copy):
                copy.set_types(_pg_types(model, tuple(columns)))
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        prep = _sqlite_preparers(fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (quoted names)
        batch: list[list[Any]] = []
        for row in rows:
            batch.append([p(v) if p else v for p, v in zip(prep, row, strict=True)])
            if len(batch) == CHUNK:
                cursor.executemany(sql, batch)
                count, batch = count + len(batch), []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


@cache
def _pg_types(model: type[models.Model], columns: tuple[str, ...]) -> tuple[str, ...]:
    """The COPY types of `columns`, worked out once per process (a fifth of the cost of
    a one-message COPY)."""
    return tuple(_pg_type(model._meta.get_field(name)) for name in columns)


def _pg_type(field: models.Field) -> str:
    """The PostgreSQL type name of a column ("varchar(20)" → "varchar")."""
    target = field.target_field if field.is_relation else field
    return str(target.rel_db_type(connection) if field.is_relation
               else target.db_type(connection)).split("(")[0]


_PASS_THROUGH = (models.CharField, models.TextField, models.IntegerField, models.BooleanField)


def _sqlite_preparers(fields: list[models.Field]) -> list[Callable[[Any], Any] | None]:
    """Per column, the conversion SQLite needs (UUIDs as hex, datetimes as text), or None
    where the Python value is stored as is."""
    preparers: list[Callable[[Any], Any] | None] = []
    for field in fields:
        target = field.target_field if field.is_relation else field
        if isinstance(target, _PASS_THROUGH) and not isinstance(target, models.UUIDField):
            preparers.append(None)
        else:
            preparers.append(lambda value, f=target: None if value is None
                             else f.get_db_prep_save(value, connection))
    return preparers


class RowShape:
    """The columns of rows written by `bulk_insert` into `model`, by name.

    Built once (at import): every name must be the attname of one of the model's concrete
    fields (`account_id`, not `account`), each once — otherwise `ValueError`. `builder`
    returns a function that takes the columns by keyword and gives the tuple in column
    order; a value missing or not a column is a `TypeError` at the call.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        known = {field.attname for field in model._meta.concrete_fields}
        unknown = [name for name in columns if name not in known]
        if unknown:
            raise ValueError(f"{model._meta.label} has no column {', '.join(unknown)} "
                             f"(its columns: {', '.join(sorted(known))})")
        repeated = sorted(name for name, count in Counter(columns).items() if count > 1)
        if repeated:
            raise ValueError(f"{model._meta.label}: column {', '.join(repeated)} given twice")
        odd = [name for name in columns if keyword.iskeyword(name)]
        if odd:  # a field attname is an identifier; a keyword cannot be an argument
            raise ValueError(f"{model._meta.label}: column {', '.join(odd)} is a keyword")
        self.model, self.columns = model, tuple(columns)

    def builder(self, **fixed: Any) -> Callable[..., tuple]:
        """A row builder for one batch: its keyword-only arguments are the columns not in
        `fixed`; `fixed` holds the values every row of the batch shares (the account, the
        time…). The builder is generated code, compiled once per set of fixed names and
        bound to the values here, so a row costs one call and a tuple display — the
        acceptance core builds 100,000 of them per second."""
        unknown = sorted(set(fixed) - set(self.columns))
        if unknown:
            raise TypeError(f"{self.model._meta.label} has no column {', '.join(unknown)}")
        code = _builder_code(self.columns, frozenset(fixed))
        return types.FunctionType(code, {_FIXED + name: value for name, value in fixed.items()},
                                  f"{self.model.__name__}_row")

    def values(self, row: Sequence[Any]) -> dict[str, Any]:
        """A row as {column: value} (to build a model instance from what was written)."""
        return dict(zip(self.columns, row, strict=True))

    def insert(self, rows: Iterable[Sequence[Any]]) -> int:
        """`bulk_insert` of rows made by this shape's builders."""
        return bulk_insert(self.model, self.columns, rows)


_FIXED = "fixed__"  # prefix of the builder's globals holding the fixed values


@cache
def _builder_code(columns: tuple[str, ...], fixed: frozenset[str]) -> types.CodeType:
    """`def row(*, a, c): return (a, fixed__b, c)` for columns (a, b, c) with b fixed."""
    given = [name for name in columns if name not in fixed]
    values = ", ".join(_FIXED + name if name in fixed else name for name in columns)
    source = (f"def row({'*, ' + ', '.join(given) if given else ''}):\n"
              f"    return ({values},)\n")
    namespace: dict[str, Any] = {}
    # The names are attnames of the model's fields (checked by RowShape), never input.
    exec(compile(source, "<RowShape builder>", "exec"), namespace)  # noqa: S102
    return namespace["row"].__code__
