"""Bulk inserts with history, for synthetic volume only (generate_volume).

Everywhere else rows are saved one by one through the services. PostgreSQL: COPY for the rows and
for their history rows, several times faster than INSERT at a million rows; other databases:
simple-history's bulk_create_with_history. Each object's `_history_date` dates its history row.
"""

from django.db import connection
from simple_history.utils import bulk_create_with_history


def insert_with_history(model, objs, user, reason):
    """Insert `objs` and one '+' history row each, naming `user` with `reason`."""
    for obj in objs:
        obj._history_user = user
        obj._change_reason = reason
    if connection.vendor != "postgresql":
        return bulk_create_with_history(
            objs, model, batch_size=500, default_user=user, default_change_reason=reason
        )
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        _copy(cursor, model, objs, {})
        history_columns = {
            "history_date": lambda o: o._history_date,
            "history_change_reason": lambda o: reason,
            "history_type": lambda o: "+",
            "history_user_id": lambda o: user.pk,
        }
        _copy(cursor, model.history.model, objs, history_columns)
    return objs


def _copy(cursor, model, objs, extra):
    # Generated columns (Finding.seconds_to_contact, ...) are computed by the database.
    fields = [
        f for f in model._meta.concrete_fields if f.attname != "history_id" and not f.generated
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with cursor.cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row(
                [
                    extra[f.attname](obj)
                    if f.attname in extra
                    else f.get_db_prep_save(getattr(obj, f.attname), connection)
                    for f in fields
                ]
            )
