"""the service catalogue per street: shared services (admins) and a street's own

Revision ID: c12b00000001
Revises: b11a00000001
Create Date: 2026-12-08 09:00:00

``service_item.street_id`` is the street whose coordinators keep the service; NULL is a
shared service that only admins change. Every existing service stays shared: the catalogue
was global until now, and any street's elders may have it on their menus. A name is unique
within a street's own services and among the shared ones (a partial index: NULLs are distinct
in a plain unique constraint).
"""
import sqlalchemy as sa
from alembic import op

revision = 'c12b00000001'
down_revision = 'b11a00000001'
branch_labels = None
depends_on = None

# SQLite's copy of the table names the unnamed UNIQUE(name) of b4e6613f4e39 by this rule, so
# that it can be dropped; PostgreSQL named it itself.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
SHARED = sa.text("street_id IS NULL")


def _name_constraint() -> str:
    """The name the database gave the old UNIQUE(name)."""
    return ("service_item_name_key" if op.get_bind().dialect.name == "postgresql"
            else "uq_service_item_name")


def upgrade():
    with op.batch_alter_table('service_item', naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column('street_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_service_item_street_id_street', 'street',
                                    ['street_id'], ['id'])
        batch_op.drop_constraint(_name_constraint(), type_='unique')
        batch_op.create_unique_constraint('uq_service_item_street_name', ['street_id', 'name'])
        batch_op.create_index('uq_service_item_shared_name', ['name'], unique=True,
                              sqlite_where=SHARED, postgresql_where=SHARED)


def downgrade():
    # A street's own service whose name another street or the shared catalogue also has
    # cannot go back to one global catalogue: refuse rather than lose or merge services.
    clash = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM (SELECT name FROM service_item GROUP BY name "
        "HAVING count(*) > 1) AS clashes"))
    if clash:
        raise RuntimeError(f"{clash} service names are used by more than one street's "
                           "catalogue; rename them before downgrading")
    with op.batch_alter_table('service_item', naming_convention=NAMING) as batch_op:
        batch_op.drop_index('uq_service_item_shared_name', sqlite_where=SHARED,
                            postgresql_where=SHARED)
        batch_op.drop_constraint('uq_service_item_street_name', type_='unique')
        batch_op.create_unique_constraint(_name_constraint(), ['name'])
        batch_op.drop_constraint('fk_service_item_street_id_street', type_='foreignkey')
        batch_op.drop_column('street_id')
