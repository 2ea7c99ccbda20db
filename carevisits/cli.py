"""`flask --app wsgi …` commands: thin wrappers over services."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import Community, DoorCode, Grid, Household, Role, Street
from carevisits.services import accounts, demo, doorcodes


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no street yet.")
def demo_command(if_empty: bool):
    """Load the demo street, accounts and a month of visits (once)."""
    if if_empty and db.session.scalar(select(Street.id).limit(1)) is not None:
        click.echo("The database already holds data; demo not loaded.")
        return
    with write_transaction():
        added = demo.load_demo()
        db.session.commit()
    if not added:
        click.echo("Demo data already present; nothing added.")
    else:
        click.echo("Demo data loaded: {households} households, {elders} elders, "
                   "{visits} visits.".format(**added))
    click.echo(f"Demo sign-ins (password '{demo.DEMO_PASSWORD}'): admin, coordinator, "
               "worker, worker2, volunteer, family")


codes = AppGroup("codes", help="Door codes of households.")


@codes.command("list")
@click.option("--grid", "grid_name", help="Only this grid (name, or 'community grid').")
def codes_list(grid_name: str | None):
    """One line per household: household number, address, door URL."""
    query = (
        select(Household, DoorCode.token)
        .join(DoorCode, (DoorCode.household_id == Household.id) & DoorCode.revoked_at.is_(None))
        .join(Grid, Household.grid_id == Grid.id)
        .join(Community, Grid.community_id == Community.id)
        .order_by(Community.name, Grid.name, Household.address, Household.building,
                  Household.unit, Household.room)
    )
    if grid_name:
        grids = _grids_named(grid_name)
        if not grids:
            raise click.BadParameter(f"no grid called {grid_name!r}", param_hint="--grid")
        query = query.where(Household.grid_id.in_(grids))
    base = current_app.config["BASE_URL"]
    for household, token in db.session.execute(query):
        click.echo(f"{household.number}\t{household.full_address}\t"
                   f"{doorcodes.door_url(base, token)}")


def _grids_named(name: str) -> list[int]:
    """Grid ids matching 'grid' or 'community grid'."""
    community, _, grid = name.strip().rpartition(" ")
    query = select(Grid.id).join(Community).where(Grid.name == grid)
    if community:
        query = query.where(Community.name == community.strip())
    return list(db.session.scalars(query))


users = AppGroup("users", help="Accounts.")


@users.command("create-admin")
@click.argument("username")
@click.option("--name", default="管理员", help="Display name.")
@click.password_option()
def create_admin(username: str, name: str, password: str):
    """Create an administrator account (the first one of a new installation)."""
    with write_transaction():
        try:
            accounts.create_user(actor=None, username=username, display_name=name,
                                 password=password, role=Role.ADMIN, scope=accounts.Scope())
        except accounts.AccountError as err:
            raise click.ClickException(str(err)) from None
        db.session.commit()
    click.echo(f"Administrator {username} created.")


commands = [demo_command, codes, users]
