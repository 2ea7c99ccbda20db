"""Register spreadsheets for coordinators: the template, upload → preview (with the mapping of
columns and values) → apply, the error file, and exports of their area. An upload is kept
under instance/imports, keyed by its SHA-256 and the uploader's id, beside its details (file
name, street, mapping); the preview's forms carry only the hash."""

import hashlib
import json
import re
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.validators import InputRequired, Regexp

from carevisits.access import coordinator_required
from carevisits.extensions import db
from carevisits.forms import TextForm
from carevisits.models import Elder, Role, Street
from carevisits.models.base import local_today, utcnow
from carevisits.register.blueprint import bp
from carevisits.responses import download
from carevisits.services import (
    register_import,
    register_listing,
    register_mapping,
    register_sheets,
)
from carevisits.services.elder_list import ElderFilter, register_query
from carevisits.services.register_plan import Choices

MAX_UPLOAD = 20 * 1024 * 1024
SHA = r"^[0-9a-f]{64}$"


class UploadForm(TextForm):
    """A register file to preview; admins also choose the street."""

    file = FileField(_l("Spreadsheet (XLSX or CSV)"),
                     validators=[FileRequired(_l("Choose a file."))])
    street = SelectField(_l("Street"), coerce=int)


class ApplyForm(TextForm):
    """Apply the previewed upload, named by its hash: all of it, or only its valid rows;
    held-back changes (reopenings, values newer in the app) by the ones ticked."""

    sha = HiddenField(validators=[InputRequired(), Regexp(SHA)])
    skip_invalid = BooleanField(_l("Import the valid rows now; download the others to fix"))


class MappingForm(TextForm):
    """The columns' and values' mapping chosen on the preview (fields read by name:
    register_mapping.from_form)."""


PAGE = 50  # records listed per page of the preview
ACTION_LABELS = {"elder_create": _l("New elder"), "elder_update": _l("Elder changed"),
                 "elder_close": _l("Record closed"), "elder_reopen": _l("Record reopened"),
                 "household_create": _l("New household"),
                 "household_update": _l("Household changed")}


def _upload_form() -> UploadForm:
    form = UploadForm()
    if current_user.role == Role.ADMIN:
        form.street.choices = [(s.id, s.name) for s in db.session.scalars(
            select(Street).order_by(Street.name))]
    else:
        del form.street
    return form


def _stored(sha: str) -> Path:
    """Where the current user's upload with this hash is kept."""
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{sha}-{current_user.id}"


def _load(sha: str) -> tuple[bytes, dict]:
    """The stored upload and its details (file name, street, mapping); 404 if none."""
    if not re.match(SHA, sha):
        abort(404)
    path = _stored(sha)
    if not path.exists():
        abort(404)
    return path.read_bytes(), json.loads(path.with_suffix(".json").read_text("utf-8"))


def _keep_meta(sha: str, meta: dict) -> None:
    _stored(sha).with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")


def _preview(sha: str) -> register_import.Plan:
    """Plan the stored upload again, in the user's area, with its mapping."""
    data, meta = _load(sha)
    street = db.session.get(Street, meta["street_id"])
    area = register_import.area_for(current_user, street)
    if area is None or area.street.id != meta["street_id"]:
        abort(404)
    mapping = register_mapping.saved(street)
    if meta.get("mapping"):
        mapping = mapping.merged(register_mapping.Mapping.from_json(meta["mapping"]))
    return register_import.preview(data, meta["filename"], sha, area, local_today(), mapping)


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_page():
    """Upload a register file; a readable upload shows its preview."""
    form = _upload_form()
    if form.validate_on_submit():
        data = form.file.data.read(MAX_UPLOAD + 1)
        street = (db.session.get(Street, form.street.data) if form.street
                  else register_import.area_for(current_user).street)
        if len(data) > MAX_UPLOAD or street is None:
            form.file.errors.append(_l("The file is too large (20 MB at most)."))
        else:
            sha = hashlib.sha256(data).hexdigest()
            _stored(sha).write_bytes(data)
            _keep_meta(sha, {"filename": form.file.data.filename or "upload",
                             "street_id": street.id})
            try:
                return _render_preview(_preview(sha))
            except register_sheets.SheetError as err:
                form.file.errors.append(str(err))
    return render_template("register/import.html", form=form), (
        422 if form.is_submitted() else 200)


@bp.get("/import/<sha>")
@coordinator_required
def import_preview(sha: str):
    """The preview of a stored upload: ?action= lists one kind of change, ?page= pages."""
    return _render_preview(_preview(sha))


def _render_preview(plan: register_import.Plan, status: int = 200, form=None):
    action = request.args.get("action", "")
    entries = [e for e in plan.listing.entries if not action or e.action == action]
    page = request.args.get("page", 1, type=int) or 1
    return render_template(
        "register/preview.html", plan=plan, action=action, page=page, pages=max(
            1, -(-len(entries) // PAGE)), entries=entries[(page - 1) * PAGE:page * PAGE],
        form=form or ApplyForm(sha=plan.sha256), mapping_form=MappingForm(),
        targets=register_mapping.targets(), allowed=register_mapping.allowed_words,
        col_header=register_mapping.header_of, word=register_listing.word,
        column_of=register_listing.column_of, ACTION_LABELS=ACTION_LABELS), status


@bp.post("/import/<sha>/mapping")
@coordinator_required
def import_mapping(sha: str):
    """Preview the upload again with the columns and values mapped as chosen; the
    choices are kept for the street's next file."""
    _data, meta = _load(sha)
    form = MappingForm()
    if not form.validate_on_submit():
        abort(400)
    plan = _preview(sha)
    try:
        mapping = register_mapping.from_form(plan.header, request.form)
    except register_mapping.MappingError as err:
        flash(str(err), "error")
        return _render_preview(plan, 422)
    meta["mapping"] = mapping.as_json()
    _keep_meta(sha, meta)
    register_mapping.save(db.session.get(Street, meta["street_id"]), mapping, current_user)
    db.session.commit()
    return redirect(url_for("register.import_preview", sha=sha))


@bp.post("/import/apply")
@coordinator_required
def apply_import():
    """Apply a previewed upload, all or nothing or its valid rows (checked again first);
    held-back changes only where ticked."""
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    plan = _preview(form.sha.data)
    if not plan.ok and not (form.skip_invalid.data and plan.has_name):
        flash(_l("The file has row errors; nothing was imported."), "error")
        return _render_preview(plan, 422, form)
    choices = Choices(reopen=set(request.form.getlist("reopen")),
                      overwrite=set(request.form.getlist("overwrite")))
    done = register_import.apply(plan, current_user, local_today(),
                                 skip_invalid=form.skip_invalid.data, choices=choices)
    db.session.commit()
    flash(_l("Imported: %(h)s new households, %(e)s new elders, %(u)s changed, %(x)s closed.",
             h=done["households_create"], e=done["elders_create"],
             u=done["elders_update"] + done["households_update"], x=done["elders_close"]),
          "success")
    if done["elders_reopen"]:
        flash(_l("Reopened: %(num)s.", num=done["elders_reopen"]), "success")
    if form.skip_invalid.data and plan.error_lines:
        flash(_l("%(num)s rows with errors were not imported: download them, fix them and "
                 "upload them again.", num=plan.error_lines), "warn")
    return redirect(url_for("register.import_page"))


@bp.get("/import/errors/<sha>")
@coordinator_required
def import_errors(sha: str):
    """The rows with errors of a stored upload, with an error column, and the warnings of
    the rows imported, as XLSX."""
    plan = _preview(sha)
    body = register_sheets.error_file(plan.header, plan.error_rows, plan.row_warnings)
    return download(body, "台账错误行.xlsx")


@bp.get("/template.xlsx")
@coordinator_required
def template():
    """The import template: headers, an example row, the allowed values."""
    return download(register_sheets.template_bytes(), "台账模板.xlsx")


@bp.get("/export.<any(xlsx, csv):fmt>")
@coordinator_required
def export(fmt: str):
    """The register of my area as the elder list shows it (?area=, care_level=, status=,
    q=; closed elders too when no status is given), one row per elder."""
    chosen = ElderFilter.from_args(request.args, current_user, default_status="all")
    if chosen.area != request.args.get("area", ""):
        abort(404)  # an area outside mine: no file rather than another one
    now = utcnow()
    query = register_query(current_user, chosen, now)
    body = register_sheets.export_file(current_user,
                                       query.with_only_columns(Elder.id).order_by(None), fmt,
                                       chosen.as_args())
    db.session.commit()
    return download(body, f"台账.{fmt}")
