"""Register spreadsheets for coordinators: the template, upload → preview → apply, the error
file, and exports of their area. An upload is kept under instance/imports, keyed by its
SHA-256 and the uploader's id; the preview form carries only the hash."""

import hashlib
import json
import re
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired, Regexp

from carevisits.access import coordinator_required
from carevisits.extensions import db
from carevisits.forms import TextForm
from carevisits.models import Elder, Role, Street
from carevisits.models.base import local_today, utcnow
from carevisits.register.blueprint import bp
from carevisits.responses import download
from carevisits.services import register_import, register_sheets
from carevisits.services.elder_list import ElderFilter, register_query

MAX_UPLOAD = 20 * 1024 * 1024
SHA = r"^[0-9a-f]{64}$"


class UploadForm(TextForm):
    """A register file to preview; admins also choose the street."""

    file = FileField(_l("Spreadsheet (XLSX or CSV)"),
                     validators=[FileRequired(_l("Choose a file."))])
    street = SelectField(_l("Street"), coerce=int)


class ApplyForm(TextForm):
    """Apply the previewed upload, named by its hash."""

    sha = HiddenField(validators=[InputRequired(), Regexp(SHA)])


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
    """The stored upload and its details (file name, street); 404 if there is none."""
    path = _stored(sha)
    if not path.exists():
        abort(404)
    return path.read_bytes(), json.loads(path.with_suffix(".json").read_text("utf-8"))


def _preview(sha: str) -> register_import.Plan:
    """Plan the stored upload again, in the user's area."""
    data, meta = _load(sha)
    street = db.session.get(Street, meta["street_id"])
    area = register_import.area_for(current_user, street)
    if area is None or area.street.id != meta["street_id"]:
        abort(404)
    return register_import.preview(data, meta["filename"], sha, area, local_today())


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_page():
    """Upload a register file; a valid upload shows its preview."""
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
            _stored(sha).with_suffix(".json").write_text(json.dumps(
                {"filename": form.file.data.filename or "upload", "street_id": street.id}))
            try:
                return _render_preview(_preview(sha))
            except register_sheets.SheetError as err:
                form.file.errors.append(str(err))
    return render_template("register/import.html", form=form), (
        422 if form.is_submitted() else 200)


def _render_preview(plan: register_import.Plan, status: int = 200):
    return render_template("register/preview.html", plan=plan,
                           form=ApplyForm(sha=plan.sha256)), status


@bp.post("/import/apply")
@coordinator_required
def apply_import():
    """Apply a previewed upload, all or nothing (checked again first)."""
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    plan = _preview(form.sha.data)
    if not plan.ok:
        flash(_l("The file has row errors; nothing was imported."), "error")
        return _render_preview(plan, 422)
    register_import.apply(plan, current_user, local_today())
    db.session.commit()
    c = plan.counts
    flash(_l("Imported: %(h)s new households, %(e)s new elders, %(u)s changed, %(x)s closed.",
             h=c["households_create"], e=c["elders_create"],
             u=c["elders_update"] + c["households_update"], x=c["elders_close"]), "success")
    return redirect(url_for("register.import_page"))


@bp.get("/import/errors/<sha>")
@coordinator_required
def import_errors(sha: str):
    """The rows with errors of a stored upload, with an error column, as XLSX."""
    if not re.match(SHA, sha):
        abort(404)
    plan = _preview(sha)
    body = register_sheets.error_file(plan.header, plan.error_rows)
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
