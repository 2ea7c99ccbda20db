"""figures of finished weeks and months, taken by the scan and kept for the dashboard

Revision ID: e15b00000002
Revises: d15b00000001
Create Date: 2026-11-30 06:01:06

The dashboard's trends and a past month's figures read these (per grid and week, per elder
and month) instead of the visit history: services/coverage_store.py. The rosters' visits
are indexed by time as well (a partial index: most visits have no roster), so that a
month's volunteer hours read that month's roster visits only; alerts by when they were
opened, acknowledged and resolved, for the dashboard's month of alerts.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e15b00000002'
down_revision = 'd15b00000001'
branch_labels = None
depends_on = None


def upgrade():
    for column in ('opened_at', 'acknowledged_at', 'resolved_at'):
        op.create_index(f'ix_alert_{column}', 'alert', [column])
    op.drop_index('ix_visit_roster_id', table_name='visit')
    op.create_index('ix_visit_roster_time', 'visit', ['roster_id', 'occurred_at'],
                    sqlite_where=sa.text('roster_id IS NOT NULL'),
                    postgresql_where=sa.text('roster_id IS NOT NULL'))
    op.create_table('coverage_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('month', 'week', name='periodkind', native_enum=False, length=20), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'starts_at', 'ends_at')
    )
    op.create_table('grid_week',
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('elders', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.Column('on_schedule', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ),
    sa.ForeignKeyConstraint(['period_id'], ['coverage_period.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('period_id', 'grid_id')
    )
    op.create_table('elder_month',
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('care_level', sa.Enum('key', 'focus', 'general', name='carelevel', native_enum=False, length=20), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('met', sa.Boolean(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('never', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['elder_id'], ['elder.id'], ),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ),
    sa.ForeignKeyConstraint(['period_id'], ['coverage_period.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('period_id', 'elder_id')
    )


def downgrade():
    op.drop_table('elder_month')
    op.drop_table('grid_week')
    op.drop_table('coverage_period')
    op.drop_index('ix_visit_roster_time', table_name='visit')
    op.create_index('ix_visit_roster_id', 'visit', ['roster_id'])
    for column in ('opened_at', 'acknowledged_at', 'resolved_at'):
        op.drop_index(f'ix_alert_{column}', table_name='alert')
