"""visits by time: an index on visit.occurred_at for the dashboard's month and week ranges

Revision ID: d15b00000001
Revises: c12b00000001
Create Date: 2026-12-20 09:00:00

The dashboard and the monthly report read the visits of one month (and of each of twelve
weeks) by ``occurred_at``; the only index on it led with ``household_id``, so those ranges
read the whole visit history. With this index their cost follows the month, not the history.
"""
from alembic import op

revision = 'd15b00000001'
down_revision = 'c12b00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_visit_occurred_at', 'visit', ['occurred_at'])


def downgrade():
    op.drop_index('ix_visit_occurred_at', table_name='visit')
