"""visits corrected, voided or entered late; phone calls in the street's visit policy

Revision ID: b11a00000001
Revises: 3c1f0a9d2e7b
Create Date: 2026-12-01 09:00:00

A visit is never deleted: ``visit_correction`` keeps every correction and voiding with the
old and new values; ``visit`` says whether it was voided (by whom, why), corrected, or
entered late. ``care_policy.phone_counts`` says whether a phone call that reached the elder
resets the schedule (NULL: the care level's default).
"""
import sqlalchemy as sa
from alembic import op

revision = 'b11a00000001'
down_revision = '3c1f0a9d2e7b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'visit_correction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['user.id']),
        sa.ForeignKeyConstraint(['visit_id'], ['visit.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('visit_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_correction_visit_id'), ['visit_id'],
                              unique=False)
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_late', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.create_foreign_key('fk_visit_voided_by_id_user', 'user', ['voided_by_id'],
                                    ['id'])
    # The defaults filled the existing rows; new rows get theirs from the app.
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.alter_column('entered_late', server_default=None)
        batch_op.alter_column('void_reason', server_default=None)
    with op.batch_alter_table('care_policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_counts', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('care_policy', schema=None) as batch_op:
        batch_op.drop_column('phone_counts')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_constraint('fk_visit_voided_by_id_user', type_='foreignkey')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('entered_late')
    with op.batch_alter_table('visit_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_correction_visit_id'))
    op.drop_table('visit_correction')
