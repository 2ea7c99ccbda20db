"""the audit log as a page: an index on audit_event (action, at)

Revision ID: g25d00000001
Revises: g25b00000001
Create Date: 2026-12-07 23:50:00

The page filters by a kind of record, most kinds by their actions (an import, an export, a
sign-in), newest first: ``(action, at)`` finds a rare action's events without reading the
whole log by time.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'g25d00000001'
down_revision = 'g25b00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_action_at', 'audit_event', ['action', 'at'], unique=False)


def downgrade():
    op.drop_index('ix_audit_action_at', table_name='audit_event')
