"""register import: the street's column and value mapping, offered with its next file

Revision ID: g25b00000001
Revises: g25a00000001
Create Date: 2026-12-07 23:50:00

A street's own spreadsheet names its columns and list values its own way (户主/老人姓名,
关爱等级 A/B/C). What the coordinator maps them to on the preview is kept per street
(``street.import_mapping``, JSON) and used for the street's next file.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'g25b00000001'
down_revision = 'g25a00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('street', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_mapping', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('street', schema=None) as batch_op:
        batch_op.drop_column('import_mapping')
