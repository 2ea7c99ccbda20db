"""`flask --app wsgi apikeys …`: API keys of integrations on the command line (thin wrappers
over services/apikeys.py)."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import Community, Street
from carevisits.services import apikeys, webhooks

apikeys_group = AppGroup("apikeys", help="API keys of integrations (gateways, 12345).")


@apikeys_group.command("create")
@click.argument("name")
@click.option("--street", "street_name", help="The street the key may see and act in.")
@click.option("--community", "community_name", help="Only this community (of --street).")
@click.option("--whole-city", is_flag=True, help="No area: every street (admins' own tools).")
@click.option("--permissions", required=True,
              help="Comma list: read (= register,visits,alerts,requests), register, visits, "
                   "alerts, requests, signals, work-orders.")
@click.option("--webhook", default="", help="Where this integration's webhooks are posted.")
@click.option("--signed", is_flag=True, help="Refuse bodies without a valid signature.")
def create_key(name, street_name, community_name, whole_city, permissions, webhook, signed):
    """Make a key; it and its signing secret are printed this once only."""
    if whole_city == bool(street_name or community_name):
        raise click.UsageError("Give --street (and perhaps --community), or --whole-city.")
    try:
        wanted = apikeys.parse_permissions(permissions)
    except ValueError as unknown:
        raise click.BadParameter(f"unknown permission {unknown}",
                                 param_hint="--permissions") from None
    street, community = _area(street_name, community_name)
    with write_transaction():
        try:
            made = apikeys.create(None, name=name, street=street, community=community,
                                  permissions=wanted, webhook_url=webhook,
                                  signature_required=signed,
                                  rules=webhooks.policy(current_app.config))
        except apikeys.ApiKeyError as refused:
            db.session.rollback()
            raise click.ClickException("\n".join(
                f"{field}: {message}" for field, messages in refused.errors.items()
                for message in messages)) from None
        db.session.commit()
    key = made.key
    click.echo(f"API key {key.name!r} created: {apikeys.scope_label(key)}; "
               f"{', '.join(key.permissions)}.")
    click.echo("Shown this once only: store both now.")
    click.echo(f"key:            {made.raw}")
    click.echo(f"signing secret: {key.signing_secret}")


def _area(street_name: str | None, community_name: str | None):
    """The street and community named, or a clear error."""
    street = community = None
    if street_name:
        street = db.session.scalar(select(Street).where(Street.name == street_name.strip()))
        if street is None:
            raise click.BadParameter(f"no street called {street_name!r}", param_hint="--street")
    if community_name:
        query = select(Community).where(Community.name == community_name.strip())
        if street is not None:
            query = query.where(Community.street_id == street.id)
        found = list(db.session.scalars(query))
        if not found:
            raise click.BadParameter(f"no community called {community_name!r}"
                                     + (" in that street" if street else ""),
                                     param_hint="--community")
        if len(found) > 1:
            raise click.BadParameter(f"{len(found)} communities are called "
                                     f"{community_name!r}: give --street too",
                                     param_hint="--community")
        community = found[0]
    return street, community


@apikeys_group.command("list")
def list_keys():
    """One line per key: name, prefix, area, permissions, last used, revoked."""
    keys = apikeys.all_keys()
    if not keys:
        click.echo("No API keys.")
    for key in keys:
        click.echo("\t".join([
            key.name, key.prefix + "…", apikeys.scope_label(key), ",".join(key.permissions),
            f"last used {_when(key.last_used_at)}",
            f"revoked {_when(key.revoked_at)}" if key.revoked_at else "live"]))


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@apikeys_group.command("revoke")
@click.argument("name")
def revoke_key(name):
    """Revoke a key: refused from its next request on."""
    with write_transaction():
        key = apikeys.by_name(name)
        if key is None:
            raise click.ClickException(f"No API key called {name!r}.")
        if not apikeys.revoke(None, key):
            click.echo(f"API key {name!r} was revoked already.")
            return
        db.session.commit()
    click.echo(f"API key {name!r} revoked.")
