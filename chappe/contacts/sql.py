"""Bulk writes for imports of 100,000 contacts, linear on both databases.

* `bulk_update_columns`: several columns of many rows. Django's `bulk_update` writes a
  `CASE WHEN` per row and field, quadratic in the batch (merging a 100,000-row file into
  existing contacts would take minutes). On SQLite: `UPDATE … FROM (VALUES …)` in chunks,
  the multi-column sibling of `chappe.common.bulk.bulk_set`; on PostgreSQL: COPY into a
  temporary table and one `UPDATE … FROM` it.
* `bulk_insert`: new rows, through COPY on PostgreSQL and multi-row VALUES on SQLite,
  preparing each value once (Django's `bulk_create` was half of the import's time).
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction

CHUNK = 500


def bulk_update_columns(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of every object in `objs` (all of one model) to the database."""
    if not objs:
        return
    meta = objs[0]._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    names = [quote(pk.column), *(quote(f.column) for f in columns)]

    def values(obj: models.Model) -> list[Any]:
        return [pk.get_db_prep_value(obj.pk, connection),
                *(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns)]

    if connection.vendor == "postgresql":
        # COPY into a temporary table, then one UPDATE … FROM it: a VALUES list with a
        # cast per value costs PostgreSQL more to plan than to run.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE bulk_v ON COMMIT DROP AS "  # noqa: S608
                           f"SELECT {', '.join(names)} FROM {table} WITH NO DATA")
            with cursor.cursor.copy(f"COPY bulk_v ({', '.join(names)}) FROM STDIN") as copy:
                for obj in objs:
                    copy.write_row(values(obj))
            cursor.execute(f"UPDATE {table} SET {assignments} FROM bulk_v v "  # noqa: S608
                           f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}")
            cursor.execute("DROP TABLE bulk_v")
        return
    with connection.cursor() as cursor:
        placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
        for start in range(0, len(objs), CHUNK):
            chunk = objs[start:start + CHUNK]
            params = [value for obj in chunk for value in values(obj)]
            rows = ", ".join([placeholder] * len(chunk))
            sql = (f"WITH v({', '.join(names)}) AS (VALUES {rows}) "  # noqa: S608 (quoted names)
                   f"UPDATE {table} SET {assignments} FROM v "
                   f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}")
            cursor.execute(sql, params)


def bulk_insert(objs: Sequence[models.Model], *, batch: int = 500) -> None:
    """INSERT every object (all of one model, primary keys already set).

    Django's `bulk_create` prepares each value through several layers per field; for the
    100,000 rows of an import that was more than half of the import's time. Here values go
    through the field's own `pre_save` (defaults, auto_now) and `get_db_prep_save` only,
    and are written with COPY on PostgreSQL, multi-row VALUES on SQLite."""
    if not objs:
        return
    meta = objs[0]._meta
    fields = list(meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    table = quote(meta.db_table)

    def values(obj: models.Model) -> list[Any]:
        return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for obj in objs:
                    copy.write_row(values(obj))
            return
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(objs), batch):
            chunk = objs[start:start + batch]
            params = [value for obj in chunk for value in values(obj)]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 (quoted names)
                + ", ".join([placeholder] * len(chunk)),
                params,
            )
