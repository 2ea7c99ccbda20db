"""`flask --app wsgi …` commands: thin wrappers over services."""

import signal
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from carevisits.cli_apikeys import apikeys_group
from carevisits.cli_areas import area_clause, grids_named
from carevisits.cli_devices import devices_group
from carevisits.cli_register import register_group
from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import Community, DoorCode, Grid, Household, Role, Street
from carevisits.models.base import utcnow
from carevisits.observability import database_revisions, migration_heads
from carevisits.scheduler import Scheduler, run_scans, scan_lock
from carevisits.services import (
    accounts,
    backups,
    cards,
    demo,
    doorcodes,
    notify,
    printjobs,
)


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
               "worker, worker2, volunteer, newvolunteer, family")


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
        grids = grids_named(grid_name)
        if not grids:
            raise click.BadParameter(f"no grid called {grid_name!r}", param_hint="--grid")
        query = query.where(Household.grid_id.in_(grids))
    base = current_app.config["BASE_URL"]
    for household, token in db.session.execute(query):
        click.echo(f"{household.number}\t{household.full_address}\t"
                   f"{doorcodes.door_url(base, token)}")


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


cards_group = AppGroup("cards", help="Door cards.")


@cards_group.command("layouts")
def cards_layouts():
    """List the print layouts in printables/, and the QR version the cards will have."""
    for key, layout in cards.layouts().items():
        click.echo(f"{key}\t{layout.per_page}/page\t{layout.title} ({layout.title_en})")
    _echo_plan()


def _echo_plan() -> None:
    """The QR version of the cards for CAREVISITS_BASE_URL, and a note when not the compact
    one."""
    plan = printjobs.configured_qr_plan()
    click.echo(f"{plan.summary}: {current_app.config['BASE_URL']}")
    if plan.note:
        click.echo(plan.note)


@cards_group.command("print")
@click.option("--street", help="Every household of this street.")
@click.option("--community", help="Every household of this community.")
@click.option("--grid", "grid_name", help="Every household of this grid ('community grid').")
@click.option("--building",
              help="One building, as written: 芙蓉街37号院2号楼 (a 平房 by its address).")
@click.option("--layout", required=True, help="A layout from `cards layouts`.")
@click.option("--rotate", is_flag=True, help="New cards: the old cards stop working.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
def cards_print(street, community, grid_name, building, layout, rotate, output):
    """Print the door cards of an area or building into a PDF (kept as a print job)."""
    chosen = [o for o in (street, community, grid_name, building) if o]
    if len(chosen) != 1:
        raise click.UsageError("Give exactly one of --street, --community, --grid, --building.")
    query = printjobs.print_order(select(Household))
    query = query.where(area_clause(street, community, grid_name, building))
    with write_transaction():
        households = list(db.session.scalars(query))
        try:
            job = printjobs.create_job(actor=None, households=households, layout=layout,
                                       rotate=rotate, scope_label=chosen[0])
        except printjobs.PrintError as err:
            raise click.ClickException(str(err)) from None
        db.session.commit()
    _echo_plan()
    with click.progressbar(length=job.total, label="Drawing cards") as bar:
        pdf = printjobs.run_job(job.id, current_app.config["BASE_URL"],
                                progress=lambda n: bar.update(n - bar.pos))
    with open(output, "wb") as out:
        out.write(pdf)
    click.echo(f"{job.total} cards in {output} ({len(pdf) // 1024} KB), print job {job.id}"
               + (" — the old cards of these households no longer work." if rotate else ""))


alerts_group = AppGroup("alerts", help="Alerts and their notifications.")


@alerts_group.command("scan")
@click.option("--at", "at", help="Scan as of this time (ISO 8601), e.g. to check a schedule.")
def alerts_scan(at: str | None):
    """Open overdue and missed check-in alerts and send due notifications, as the web
    processes' scheduler does every few minutes; safe to run from cron on many hosts at once."""
    _report_round(*run_scans(_parse_time(at)))


def _report_round(overdue: list, late_requests: list, sent: int, failed: int,
                  missed_checkins: list) -> None:
    """One line on what a round of scans did."""
    click.echo(f"{len(overdue)} new overdue alerts, {len(late_requests)} new request-overdue "
               f"alerts, {len(missed_checkins)} new missed check-in alerts; {sent} "
               f"notifications sent, {failed} failed.")


@alerts_group.command("deliver")
def alerts_deliver():
    """Send (or retry) the notifications that are due."""
    sent, failed = notify.deliver_due(utcnow())
    click.echo(f"{sent} notifications sent, {failed} failed.")


scheduler_group = AppGroup("scheduler", help="The overdue scans and deliveries, as a service.")


@scheduler_group.command("run")
@click.option("--once", is_flag=True, help="One round now (if no other process holds the "
              "lock), then exit: for a timer or cron.")
def scheduler_run(once: bool):
    """Run the web processes' scan rounds here instead (start those with CAREVISITS_SCHEDULER=0):
    every SCAN_MINUTES, under the same lock, so one process of all hosts scans each round.
    Stops on SIGTERM or Ctrl-C once a round under way is done."""
    app = current_app._get_current_object()
    if thread := app.extensions.pop("scheduler", None):  # CAREVISITS_SCHEDULER=1 here: one
        thread.stop()                                     # loop is enough, this one
    if once:
        with scan_lock(app) as held:
            if held:
                _report_round(*run_scans(utcnow()))
            else:
                click.echo("Another process is scanning; nothing done.")
        return
    scheduler = Scheduler(app, app.config["SCAN_MINUTES"])
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: scheduler.stop())
    click.echo(f"Scanning every {app.config['SCAN_MINUTES']:g} minutes.")
    scheduler.run()
    click.echo("Scheduler stopped.")


def _parse_time(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-11-30T08:00",
                                 param_hint="--at") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(
        current_app.config["BABEL_DEFAULT_TIMEZONE"]))


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The backup file (replaced only once the backup is complete).")
def backup_command(output: str):
    """Back up the database while the app serves (SQLite: online backup API; PostgreSQL:
    pg_dump's custom format)."""
    try:
        backups.backup(db.engine, Path(output))
    except backups.BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backup written to {output} ({Path(output).stat().st_size // 1024} KB).")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore_command(file: str):
    """Restore a backup into this database, which must be empty (exit 1 otherwise)."""
    try:
        backups.restore(db.engine, Path(file))
    except backups.BackupError as err:
        raise click.ClickException(str(err)) from None
    at, head = database_revisions(), migration_heads()
    click.echo(f"Restored {file}; schema revision {', '.join(sorted(at))}"
               + ("." if at == head else ": behind this code's, run `flask db upgrade`."))


commands = [demo_command, codes, users, cards_group, alerts_group, scheduler_group,
            register_group, backup_command, restore_command, apikeys_group, devices_group]
