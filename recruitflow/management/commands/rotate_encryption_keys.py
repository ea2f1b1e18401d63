from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from recruitflow.fields import TOKEN_PREFIX, EncryptedTextField, rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS. "
        "Run after putting a new key first; then the old keys can be removed."
    )

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            manager = model._base_manager
            rotated = 0
            with transaction.atomic():
                # Work on the raw tokens: MultiFernet.rotate re-encrypts without exposing values.
                for pk in manager.values_list("pk", flat=True).iterator():
                    raw = self._raw_row(model, pk, fields)
                    updates = {
                        col: rotate(token)
                        for col, token in raw.items()
                        if token and token.startswith(TOKEN_PREFIX)
                    }
                    if updates:
                        self._write_raw(model, pk, updates)
                        rotated += 1
            total += rotated
            self.stdout.write(f"{model._meta.label}: {rotated} row(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} row(s) re-encrypted."))

    @staticmethod
    def _raw_row(model, pk, fields):
        from django.db import connections, router

        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        pk_col = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {cols} FROM {table} WHERE {pk_col} = %s", [pk])  # noqa: S608
            values = cursor.fetchone()
        return {f.column: v for f, v in zip(fields, values, strict=True)}

    @staticmethod
    def _write_raw(model, pk, updates):
        from django.db import connections, router

        connection = connections[router.db_for_write(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in updates)
        pk_col = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE {pk_col} = %s",  # noqa: S608
                [*updates.values(), pk],
            )
