"""sign-in sessions of one browser each; a daily check-in's key and arrival time

Revision ID: g26c00000001
Revises: g26e00000001
Create Date: 2026-12-08 00:15:00

Signing out ends only the browser's own session (issue 26, item 4): ``sign_in_session`` keeps
a SHA-256 of each browser's session secret, deleted at sign-out; "sign out everywhere" and
deactivation still bump ``user.session_version``. Sessions signed in before this revision
carry no secret and must sign in once more.

A 我很好 pressed without signal is sent later (item 7): ``self_checkin.key`` is the page's
own key of the press (one check-in however often it is sent), ``received_at`` the server's
time it arrived (``at`` stays the time it was pressed).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'g26c00000001'
down_revision = 'g26e00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_in_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index(op.f('ix_sign_in_session_user_id'), 'sign_in_session', ['user_id'],
                    unique=False)
    with op.batch_alter_table('self_checkin', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('received_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_index('uq_self_checkin_key', 'self_checkin', ['elder_id', 'key'], unique=True)


def downgrade():
    op.drop_index('uq_self_checkin_key', table_name='self_checkin')
    with op.batch_alter_table('self_checkin', schema=None) as batch_op:
        batch_op.drop_column('received_at')
        batch_op.drop_column('key')
    op.drop_index(op.f('ix_sign_in_session_user_id'), table_name='sign_in_session')
    op.drop_table('sign_in_session')
