"""the street's own register: grid assignments with dates, elder lifecycle, contacts, tags

Revision ID: 3c1f0a9d2e7b
Revises: 15a211b90fdc
Create Date: 2026-11-29 21:00:00

A worker's grid moves from ``user.grid_id`` to dated ``grid_assignment`` rows (own grid or
cover); an elder's ``active`` flag becomes a closure with a reason and a date; the single
emergency contact becomes a list; households can be closed.
"""
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = '3c1f0a9d2e7b'
down_revision = '15a211b90fdc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'grid_assignment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=True),
        sa.Column('cover', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id']),
        sa.ForeignKeyConstraint(['grid_id'], ['grid.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('grid_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_assignment_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grid_assignment_user_id'), ['user_id'], unique=False)

    conn = op.get_bind()
    assignment = sa.table('grid_assignment', sa.column('grid_id'), sa.column('user_id'),
                          sa.column('starts_on'), sa.column('cover'), sa.column('created_at'))
    user = sa.table('user', sa.column('id'), sa.column('grid_id'), sa.column('role'),
                    sa.column('created_at', sa.DateTime(timezone=True)))
    rows = conn.execute(sa.select(user.c.id, user.c.grid_id, user.c.created_at)
                        .where(user.c.grid_id.is_not(None))).all()
    for user_id, grid_id, created_at in rows:
        # A day early, so that the assignment holds on the local date in every time zone.
        starts = (created_at.date() if created_at else date.today()) - timedelta(days=1)
        conn.execute(assignment.insert().values(
            grid_id=grid_id, user_id=user_id, starts_on=starts, cover=False,
            created_at=sa.func.current_timestamp()))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_grid_id'))
        batch_op.drop_column('grid_id')

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emergency_contacts', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('closed_reason', sa.Enum(
            'deceased', 'moved_away', 'care_home', 'not_needed', name='closedreason',
            native_enum=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
    elder = sa.table('elder', sa.column('id'), sa.column('emergency_contact'),
                     sa.column('emergency_phone'), sa.column('active'),
                     sa.column('emergency_contacts', sa.JSON()), sa.column('tags', sa.JSON()),
                     sa.column('closed_reason'), sa.column('closed_on'))
    for elder_id, contact, phone, active in conn.execute(sa.select(
            elder.c.id, elder.c.emergency_contact, elder.c.emergency_phone, elder.c.active)):
        contacts = ([{"name": contact or "", "relation": "", "phone": phone or ""}]
                    if contact or phone else [])
        closed = {} if active else {"closed_reason": "not_needed", "closed_on": date.today()}
        conn.execute(elder.update().where(elder.c.id == elder_id).values(
            emergency_contacts=contacts, tags=[], **closed))
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.alter_column('emergency_contacts', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('tags', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('emergency_contact')
        batch_op.drop_column('emergency_phone')
        batch_op.drop_column('active')


def downgrade():
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('emergency_phone', sa.String(length=30), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('emergency_contact', sa.String(length=40), nullable=False,
                                      server_default=''))
    conn = op.get_bind()
    elder = sa.table('elder', sa.column('id'), sa.column('emergency_contact'),
                     sa.column('emergency_phone'), sa.column('active'),
                     sa.column('emergency_contacts', sa.JSON()), sa.column('closed_reason'))
    for elder_id, contacts, reason in conn.execute(sa.select(
            elder.c.id, elder.c.emergency_contacts, elder.c.closed_reason)):
        first = (contacts or [{}])[0]
        conn.execute(elder.update().where(elder.c.id == elder_id).values(
            emergency_contact=(first.get("name") or "")[:40],
            emergency_phone=(first.get("phone") or "")[:30], active=reason is None))
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.drop_column('closed_on')
        batch_op.drop_column('closed_reason')
        batch_op.drop_column('tags')
        batch_op.drop_column('emergency_contacts')
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('closed_at')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_user_grid_id', 'grid', ['grid_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_user_grid_id'), ['grid_id'], unique=False)
    conn.execute(sa.text(
        "UPDATE \"user\" SET grid_id = (SELECT grid_id FROM grid_assignment a WHERE "
        "a.user_id = \"user\".id AND NOT a.cover AND a.ends_on IS NULL "
        "ORDER BY a.starts_on DESC LIMIT 1)"))
    with op.batch_alter_table('grid_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_grid_assignment_grid_id'))
    op.drop_table('grid_assignment')
