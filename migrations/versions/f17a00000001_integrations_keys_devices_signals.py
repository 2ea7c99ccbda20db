"""integrations: API keys, devices and their signals, the daily check-in, work orders

Revision ID: f17a00000001
Revises: e15b00000002
Create Date: 2026-11-30 11:36:23

Other systems reach carevisits with API keys (stored hashed, scoped to an area); devices are
registered to households and their signals kept once per event id; elders may check in
themselves every day; requests may come from 12345 with their reference; the outbox carries
integration events as well as alert texts. Elders, visits, alerts and requests get an
``updated_at`` for incremental pulls, filled from when each was made or last changed.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f17a00000001'
down_revision = 'e15b00000002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.Column('signing_secret', sa.String(length=64), nullable=False),
    sa.Column('signature_required', sa.Boolean(), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('prefix'),
    sa.UniqueConstraint('secret_hash')
    )
    op.create_table('device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('water_meter', 'electricity_meter', 'door_sensor', 'sos_button', 'wearable', name='devicekind', native_enum=False, length=20), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_household_id'), ['household_id'], unique=False)
        batch_op.create_index('uq_device_code_live', ['code'], unique=True, sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))

    op.create_table('self_checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['elder_id'], ['elder.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('self_checkin', schema=None) as batch_op:
        batch_op.create_index('ix_self_checkin_elder_time', ['elder_id', 'at'], unique=False)

    op.create_table('signal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('no_usage', 'usage_back', 'sos', 'fall', 'door_not_opened', name='signalkind', native_enum=False, length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('api_key_id', 'event_id')
    )
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.create_index('ix_signal_device_time', ['device_id', 'occurred_at'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_by_hour', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('checkin_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('last_checkin_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_elder_updated_at'), ['updated_at'], unique=False)
        batch_op.create_unique_constraint('uq_elder_checkin_token', ['checkin_token'])

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('silence_hours', sa.Integer(), nullable=True))

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('event', sa.String(length=40), server_default='', nullable=False))
        batch_op.alter_column('alert_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('channel_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_notification_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_foreign_key('fk_notification_api_key', 'api_key', ['api_key_id'], ['id'])

    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ref', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('api_key_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_service_request_updated_at'), ['updated_at'], unique=False)
        batch_op.create_unique_constraint('uq_service_request_work_order', ['api_key_id', 'external_ref'])
        batch_op.create_foreign_key('fk_service_request_api_key', 'api_key', ['api_key_id'], ['id'])

    with op.batch_alter_table('street', schema=None) as batch_op:
        batch_op.add_column(sa.Column('silence_hours', sa.Integer(), server_default='12', nullable=False))

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_visit_updated_at'), ['updated_at'], unique=False)


    # What each row's last change was, as far as the tables tell.
    for table, made in (('alert', 'coalesce(resolved_at, acknowledged_at, opened_at)'),
                        ('elder', 'created_at'),
                        ('service_request', 'coalesce(finished_at, raised_at)'),
                        ('visit', 'coalesce(voided_at, corrected_at, server_time)')):
        op.execute(f'UPDATE {table} SET updated_at = {made}')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True),
                                  nullable=False)


def downgrade():
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_updated_at'))
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('street', schema=None) as batch_op:
        batch_op.drop_column('silence_hours')

    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_constraint('fk_service_request_api_key', type_='foreignkey')
        batch_op.drop_constraint('uq_service_request_work_order', type_='unique')
        batch_op.drop_index(batch_op.f('ix_service_request_updated_at'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('api_key_id')
        batch_op.drop_column('external_ref')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notification_api_key', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notification_api_key_id'))
        batch_op.alter_column('channel_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.alter_column('alert_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('event')
        batch_op.drop_column('api_key_id')

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('silence_hours')

    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.drop_constraint('uq_elder_checkin_token', type_='unique')
        batch_op.drop_index(batch_op.f('ix_elder_updated_at'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('last_checkin_at')
        batch_op.drop_column('checkin_token')
        batch_op.drop_column('checkin_by_hour')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_updated_at'))
        batch_op.drop_column('updated_at')

    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.drop_index('ix_signal_device_time')

    op.drop_table('signal')
    with op.batch_alter_table('self_checkin', schema=None) as batch_op:
        batch_op.drop_index('ix_self_checkin_elder_time')

    op.drop_table('self_checkin')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index('uq_device_code_live', sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_device_household_id'))
        batch_op.drop_index(batch_op.f('ix_device_code'))

    op.drop_table('device')
    op.drop_table('api_key')
