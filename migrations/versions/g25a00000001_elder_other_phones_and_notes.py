"""elder: further phone numbers and notes (备注)

Revision ID: g25a00000001
Revises: f17c00000001
Create Date: 2026-12-08 00:00:00

A street's sheet often holds two or three numbers for one elder and a 备注 column (轮椅,
听力差，敲门要大声): ``elder.other_phones`` keeps the numbers after the first (a JSON list,
empty for every elder already stored) and ``elder.notes`` the notes (empty text).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'g25a00000001'
down_revision = 'f17c00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('other_phones', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.drop_column('notes')
        batch_op.drop_column('other_phones')
