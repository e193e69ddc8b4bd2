"""ID, phone and bank card numbers sealed at rest; keyed hashes for the lookups

The columns below are widened to hold a sealed value (backoffice/store/fieldseal.py), the
hash columns added, every existing row converted in batches (sealed under the current key of
XIAOBAO_FIELDS_KEYS, hashed under XIAOBAO_FIELDS_HASH_KEY: the keys must be set to migrate a
database that holds rows), then the unique constraint on the ID number and the phone indexes
move to the hashes. The downgrade opens every value again (the keys are needed then too).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from backoffice.store import fieldseal

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

SEALED = sa.String(length=fieldseal.SEALED_LENGTH)
#: a keyed hash: HMAC-SHA256 truncated to 128 bits, as hex (fieldseal.HASH_LENGTH)
HASH = sa.String(length=32)

#: table → [(column, kind, its length before, hashed, nullable)]
COLUMNS: dict[str, list[tuple[str, str, int, bool, bool]]] = {
    "parties": [("id_number", "id_number", 18, True, False), ("phone", "phone", 20, True, True)],
    "beneficiaries": [("id_number", "id_number", 18, True, False)],
    "policies": [("debit_account", "bank_account", 30, False, True)],
    "endorsement_requests": [("phone", "phone", 20, False, True)],
    "claims": [("reporter_phone", "phone", 20, True, False),
               ("bank_account", "bank_account", 30, False, True),
               ("pending_bank_account", "bank_account", 30, False, True)],
    "claim_payments": [("account", "bank_account", 30, False, True)],
    "complaints": [("complainant_phone", "phone", 20, True, False)],
    "home_visits": [("phone", "phone", 20, True, False),
                    ("id_number", "id_number", 18, True, True)],
}
#: indexes on the clear columns, replaced by indexes on their hashes
OLD_INDEXES = {"parties": ["phone"], "claims": ["reporter_phone"],
               "complaints": ["complainant_phone"]}
BATCH = 5000


def _batches(table: str, columns: list[str]) -> Iterator[list[Any]]:
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.text(
            f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > :last "
            "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _convert(table: str, seal: bool) -> None:
    spec = COLUMNS[table]
    names = [c for c, *_ in spec]
    sets = [f"{c} = :{c}" for c in names]
    sets += [f"{c}_hash = :{c}_hash" for c, _, _, hashed, _ in spec if hashed and seal]
    update = sa.text(f"UPDATE {table} SET {', '.join(sets)} WHERE id = :id")
    for rows in _batches(table, names):
        keys = fieldseal.installed()
        params = []
        for row in rows:
            values: dict[str, Any] = {"id": row[0]}
            for (column, kind, _, hashed, _), value in zip(spec, row[1:], strict=True):
                if seal:
                    values[column] = None if value is None else (
                        value if fieldseal.is_sealed(value) else fieldseal.seal(kind, value, keys))
                    plain = value if value is None or not fieldseal.is_sealed(value) \
                        else fieldseal.unseal(kind, value, keys)
                    if hashed:
                        values[f"{column}_hash"] = fieldseal.keyed_hash(kind, plain, keys)
                else:
                    values[column] = value if value is None or not fieldseal.is_sealed(value) \
                        else fieldseal.unseal(kind, value, keys)
            params.append(values)
        op.get_bind().execute(update, params)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, spec in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, _, _, hashed, _ in spec:
                if hashed:
                    batch_op.add_column(sa.Column(f"{column}_hash", HASH, nullable=True))
        if not sqlite:  # a longer varchar: no rewrite of the table on PostgreSQL
            for column, _, before, _, nullable in spec:
                op.alter_column(table, column, type_=SEALED,
                                existing_type=sa.String(length=before),
                                existing_nullable=nullable)
        _convert(table, seal=True)
        with op.batch_alter_table(table, schema=None) as batch_op:
            if sqlite:  # SQLite stores any length; the declared type follows the models
                for column, _, before, _, nullable in spec:
                    batch_op.alter_column(column, type_=SEALED,
                                          existing_type=sa.String(length=before),
                                          existing_nullable=nullable)
            for column in OLD_INDEXES.get(table, []):
                batch_op.drop_index(f"ix_{table}_{column}")
            if table == "parties":
                batch_op.drop_constraint("uq_parties_id_number", type_="unique")
                batch_op.alter_column("id_number_hash", existing_type=HASH, nullable=False)
                batch_op.create_unique_constraint("uq_parties_id_number_hash",
                                                  ["id_number_hash"])
            for column, _, _, hashed, _ in spec:
                if hashed and not (table == "parties" and column == "id_number"):
                    batch_op.create_index(f"ix_{table}_{column}_hash", [f"{column}_hash"])


def downgrade() -> None:
    for table, spec in COLUMNS.items():
        _convert(table, seal=False)
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, _, _, hashed, _ in spec:
                if hashed and not (table == "parties" and column == "id_number"):
                    batch_op.drop_index(f"ix_{table}_{column}_hash")
            if table == "parties":
                batch_op.drop_constraint("uq_parties_id_number_hash", type_="unique")
                batch_op.create_unique_constraint("uq_parties_id_number", ["id_number"])
            for column in OLD_INDEXES.get(table, []):
                batch_op.create_index(f"ix_{table}_{column}", [column])
            for column, _, before, hashed, nullable in spec:
                if hashed:
                    batch_op.drop_column(f"{column}_hash")
                batch_op.alter_column(column, type_=sa.String(length=before),
                                      existing_type=SEALED, existing_nullable=nullable)
