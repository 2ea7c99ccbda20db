"""follow-ups: what a visitor means to do for an elder on a later day

Revision ID: g26e00000001
Revises: g25d00000001
Create Date: 2026-12-08 00:20:00

A follow-up (明日工作) is added at the door or on the elder's page: what, the local day it is
for, a star for important; it is done at the next visit or from the round. The open ones are
read by day (the round, the worker's page, the dashboard): a partial index on ``due_on``.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'g26e00000001'
down_revision = 'g25d00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('what', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('important', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_visit_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_visit_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['created_visit_id'], ['visit.id'], ),
    sa.ForeignKeyConstraint(['done_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['done_visit_id'], ['visit.id'], ),
    sa.ForeignKeyConstraint(['elder_id'], ['elder.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index('ix_follow_up_open_due', ['due_on'], unique=False, sqlite_where=sa.text('done_at IS NULL'), postgresql_where=sa.text('done_at IS NULL'))


def downgrade():
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_open_due', sqlite_where=sa.text('done_at IS NULL'), postgresql_where=sa.text('done_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_follow_up_elder_id'))

    op.drop_table('follow_up')
