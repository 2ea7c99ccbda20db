"""`flask --app wsgi register …`: the street's register as a spreadsheet — the template, the
import (with its mapping, the valid rows only, held-back changes) and the export (thin
wrappers over services/register_*)."""

import hashlib
import json
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from carevisits.cli_areas import area_clause
from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import Community, Elder, Grid, Household, Street
from carevisits.models.base import local_today, utcnow
from carevisits.services import (
    register_import,
    register_listing,
    register_mapping,
    register_sheets,
)
from carevisits.services.register_plan import Choices

register_group = AppGroup("register", help="The street's register (台账): import, export.")


@register_group.command("template")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
def register_template(output: str):
    """Write the import template (XLSX: headers, an example row, the allowed values)."""
    Path(output).write_bytes(register_sheets.template_bytes())
    click.echo(f"Template written to {output}.")


@register_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--street", help="The street to import into (needed when there are several).")
@click.option("--dry-run", is_flag=True, help="Check and count only; change nothing.")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False, writable=True),
              help="Write the rows with errors (and the warnings) to this XLSX, to fix and "
                   "import again.")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False),
              help="A JSON file mapping the file's headers and list values (see "
                   "--show-mapping); the street's saved mapping otherwise.")
@click.option("--show-mapping", is_flag=True,
              help="Print the mapping that would be used, as JSON, and change nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Apply the valid rows; the others go to --errors (exit 0).")
@click.option("--reopen", is_flag=True, help="Reopen the closed records the file lists as 在册.")
@click.option("--overwrite-newer", is_flag=True,
              help="Overwrite values changed in the app after the file was exported.")
@click.pass_context
def register_import_command(ctx, file: str, street: str | None, dry_run: bool,
                            errors_out: str | None, mapping_file: str | None,
                            show_mapping: bool, skip_invalid: bool, reopen: bool,
                            overwrite_newer: bool):
    """Import a register file; exit 1 when rows have errors (nothing applied unless
    --skip-invalid), 2 when the file or the mapping cannot be read."""
    data = Path(file).read_bytes()
    area = register_import.Area(_one_street(street))
    with write_transaction():
        try:
            mapping = register_mapping.saved(area.street)
            if mapping_file:
                mapping = mapping.merged(register_mapping.Mapping.from_json(
                    json.loads(Path(mapping_file).read_text("utf-8"))))
            choices = Choices(reopen=reopen, overwrite=overwrite_newer)
            plan = register_import.preview(data, Path(file).name,
                                           hashlib.sha256(data).hexdigest(), area, local_today(),
                                           mapping, choices)
        except (register_sheets.SheetError, register_mapping.MappingError,
                ValueError) as err:
            click.echo(f"Cannot read {file}: {err}", err=True)
            ctx.exit(2)
        if show_mapping:
            click.echo(json.dumps(plan.mapping.as_json(plan.header), ensure_ascii=False,
                                  indent=2))
            db.session.rollback()
            return
        _report(plan)
        if errors_out and (plan.errors or plan.row_warnings):
            Path(errors_out).write_bytes(register_sheets.error_file(
                plan.header, plan.error_rows, plan.row_warnings))
            click.echo(f"Rows with errors and warnings written to {errors_out}.")
        if not plan.has_name or (plan.errors and not skip_invalid):
            db.session.rollback()
            ctx.exit(1)
        if dry_run:
            db.session.rollback()
            click.echo("Dry run: nothing changed.")
            return
        register_mapping.save(area.street, plan.mapping, None)
        register_import.apply(plan, actor=None, today=local_today(), skip_invalid=skip_invalid,
                              choices=choices)
        db.session.commit()
    click.echo("Imported." if not plan.errors else
               f"Imported the valid rows; {plan.error_lines} rows with errors not imported.")


def _one_street(name: str | None) -> Street:
    streets = list(db.session.scalars(select(Street).where(Street.name == name) if name
                                      else select(Street).limit(2)))
    if len(streets) != 1:
        raise click.UsageError(f"no street called {name!r}" if name else
                               "give --street: there are several streets (or none)")
    return streets[0]


def _report(plan) -> None:
    c = plan.counts
    click.echo(f"Households: {c['households_create']} new, {c['households_update']} changed, "
               f"{c['households_unchanged']} unchanged. Elders: {c['elders_create']} new, "
               f"{c['elders_update']} changed, {c['elders_close']} closed, "
               f"{c['elders_unchanged']} unchanged."
               + (f" Reopened: {c['elders_reopen']}." if c["elders_reopen"] else ""))
    if not plan.has_name:
        click.echo("No column is the name (姓名): map one with --mapping.", err=True)
    for column in plan.not_imported:
        click.echo(f"Column not imported: {column.header or column.index + 1} "
                   f"({column.filled} filled cells)")
    for line, why in plan.skipped:
        click.echo(f"Row {line} skipped ({why}).")
    for key, words in plan.unknown_values.items():
        click.echo(f"Values of {register_mapping.header_of(key)} not in the list: "
                   + ", ".join(f"{w} ({n})" for w, n in words.most_common())
                   + " (map them with --mapping)")
    for held in plan.conflicts:
        option = "--reopen" if held.kind == "reopen" else "--overwrite-newer"
        fields = ", ".join(f"{register_listing.column_of(f)} {register_listing.word(f, old)} → "
                           f"{register_listing.word(f, new)}"
                           for f, (old, new) in held.changes.items())
        click.echo(f"Held back (apply with {option}): row {held.line} {held.label}: {fields}")
    for warning in plan.warnings:
        click.echo(f"Warning: {warning}")
    for w in plan.row_warnings:
        click.echo(f"Warning: row {w.line}, {w.column} {w.value!r}: {w.message}")
    for e in plan.errors:
        click.echo(f"Row {e.line}, {e.column} {e.value!r}: {e.message}", err=True)


@register_group.command("export")
@click.option("--street", help="Every household of this street.")
@click.option("--community", help="Every household of this community.")
@click.option("--grid", "grid_name", help="Every household of this grid ('community grid').")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="FILE.xlsx or FILE.csv")
def register_export(street, community, grid_name, output: str):
    """Export the register (one row per elder) in the template's columns."""
    if sum(bool(o) for o in (street, community, grid_name)) > 1:
        raise click.UsageError("Give at most one of --street, --community, --grid.")
    query = (select(Elder.id).join(Household).join(Grid, Household.grid_id == Grid.id)
             .join(Community))
    if street or community or grid_name:
        query = query.where(area_clause(street, community, grid_name, None))
    rows = register_sheets.export_rows(query)
    fmt = "csv" if output.lower().endswith(".csv") else "xlsx"
    Path(output).write_bytes(register_sheets.export_bytes(rows, fmt, utcnow()))
    click.echo(f"{len(rows)} elders written to {output}.")


