"""daily check-in: the first deadline a missed check-in counts from

Revision ID: f17c00000001
Revises: f17a00000001
Create Date: 2026-11-30 11:50:00

An elder who takes part after the day's chosen hour has passed is not alerted that day:
``elder.checkin_starts_at`` is the first deadline that counts (set on taking part and on a
change of hour), and the missed check-in scan compares it with now (indexed: the scan reads
only the elders who take part).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f17c00000001'
down_revision = 'f17a00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_starts_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_elder_checkin_starts_at'), ['checkin_starts_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_elder_checkin_starts_at'))
        batch_op.drop_column('checkin_starts_at')
