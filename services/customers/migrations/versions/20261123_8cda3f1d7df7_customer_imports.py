"""customer imports: the record of every uploaded file (dry run or commit)

Revision ID: 8cda3f1d7df7
Revises: de12bfad342d
Create Date: 2026-11-23 22:00:00

Written by hand. Only a new table: the import's duplicate detection uses the customer table's
own columns (credit_code, id_number_index, name_normalized + kind + owner_id).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "8cda3f1d7df7"
down_revision: str | None = "de12bfad342d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_import",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("file_format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("duplicate_rows", sa.Integer(), nullable=False),
        sa.Column("created_rows", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_import", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_import_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_import_created_by"), ["created_by"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_import_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_import_sha256"))
        batch_op.drop_index(batch_op.f("ix_customer_import_created_by"))
        batch_op.drop_index(batch_op.f("ix_customer_import_created_at"))
    op.drop_table("customer_import")
