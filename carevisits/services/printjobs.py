"""Print jobs for door cards: choose households, rotate codes if asked, render, keep the PDF."""

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, insert, select, update

from carevisits.database import write_transaction
from carevisits.extensions import db
from carevisits.models import (
    Community,
    DoorCode,
    Grid,
    Household,
    JobStatus,
    PrintJob,
    PrintJobHousehold,
    User,
)
from carevisits.models.base import utcnow
from carevisits.models.household import format_address
from carevisits.services import audit, cards
from carevisits.services.doorcodes import TOKEN_LENGTH, card_url, door_hotline, new_token
from carevisits.services.fonts import FontUnavailable
from carevisits.services.scope import household_scope

PROGRESS_EVERY = 100  # cards between progress updates
STALLED_AFTER = timedelta(minutes=5)


class PrintError(ValueError):
    """A print request that cannot go ahead; the message says why, for the coordinator."""


def print_order(query: Select) -> Select:
    """The open households of ``query`` (a closed one gets no card) in the order cards are
    posted: community, grid, building, unit, room."""
    return (query.where(Household.closed_at.is_(None))
            .join(Grid, Household.grid_id == Grid.id)
            .join(Community, Grid.community_id == Community.id)
            .order_by(Community.name, Grid.name, Household.address, Household.building,
                      Household.unit, Household.room, Household.id))


def visible_jobs(user: User) -> Select:
    """Jobs the user may see: every household in them is in the user's scope."""
    outside = (select(PrintJobHousehold.job_id)
               .join(Household, PrintJobHousehold.household_id == Household.id)
               .where(PrintJobHousehold.job_id == PrintJob.id, ~household_scope(user)))
    return select(PrintJob).where(~exists(outside)).order_by(PrintJob.id.desc())


def _cards_query(job: PrintJob) -> Select:
    return (select(Household.number, Household.address, Household.building, Household.unit,
                   Household.room, DoorCode.token)
            .join(PrintJobHousehold, PrintJobHousehold.household_id == Household.id)
            .outerjoin(DoorCode, (DoorCode.household_id == Household.id)
                       & DoorCode.revoked_at.is_(None))
            .where(PrintJobHousehold.job_id == job.id)
            .order_by(PrintJobHousehold.position))


def _card(row, base_url: str, hotline: str, compact: bool) -> cards.Card:
    address = format_address(row.address, row.building, row.unit, row.room)
    return cards.Card(url=card_url(base_url, row.token or "", compact), number=row.number,
                      hotline=hotline, address=address)


@dataclass(frozen=True)
class QrPlan:
    """The QR code new cards get with a base URL: its version, its mode, and a note for the
    coordinator when it is not the compact version 4 (the cards print all the same)."""

    version: int
    mode: str
    note: str

    @property
    def summary(self) -> str:
        size = 17 + 4 * self.version
        return str(_l("QR code version %(version)d (%(size)d×%(size)d)",
                      version=self.version, size=size))


def qr_plan(base_url: str, compact: bool) -> QrPlan:
    """What the codes of new cards will be for ``base_url`` (every new token has the same
    length, so every new card gets the same version)."""
    url = card_url(base_url, "A" * TOKEN_LENGTH, compact)
    version, mode = cards.qr_version(url), cards.qr_mode(url)
    note = ""
    if not compact:
        note = _l("CAREVISITS_QR_COMPACT=0: the cards carry the lower-case address in byte "
                  "mode, a larger code than the compact one.")
    elif mode != "alphanumeric":
        note = _l("The base URL's path (%(path)s) keeps its case, as the app is reached by "
                  "it: the code is written in byte mode, larger than version %(compact)d. A "
                  "base URL without a path gives the compact code.",
                  path=urlsplit(base_url).path, compact=cards.COMPACT_VERSION)
    elif version > cards.COMPACT_VERSION:
        note = _l("The base URL is too long for version %(compact)d: the cards print with "
                  "smaller modules, which scan from less far. A shorter CAREVISITS_BASE_URL "
                  "gives version %(compact)d.", compact=cards.COMPACT_VERSION)
    return QrPlan(version, mode, str(note))


def configured_qr_plan() -> QrPlan:
    """qr_plan for this app's CAREVISITS_BASE_URL and CAREVISITS_QR_COMPACT."""
    return qr_plan(current_app.config["BASE_URL"], current_app.config["QR_COMPACT"])


def create_job(*, actor: User | None, households: list[Household], layout: str, rotate: bool,
               scope_label: str) -> PrintJob:
    """Check the request (layout, font, every character) and queue a job; nothing rotates yet."""
    try:
        cards.get_layout(layout)
        font = cards.card_font()
    except cards.LayoutUnknown:
        raise PrintError(_l("Unknown layout.")) from None
    except FontUnavailable as err:
        raise PrintError(str(err)) from None
    if not households:
        raise PrintError(_l("No households chosen."))
    hotline = door_hotline()
    problems = cards.unprintable(
        (cards.Card("", h.number, hotline, h.full_address) for h in households), font)
    if problems:
        detail = "; ".join(f"{n}: {''.join(sorted(chars))}" for n, chars in problems.items())
        raise PrintError(_l("The font cannot print these characters (household no.: "
                            "characters): %(detail)s. Correct the addresses first.",
                            detail=detail))
    job = PrintJob(created_by_id=actor.id if actor else None, layout=layout, rotate=rotate,
                   scope_label=scope_label[:200], total=len(households))
    db.session.add(job)
    db.session.flush()
    db.session.execute(insert(PrintJobHousehold), [
        {"job_id": job.id, "household_id": h.id, "position": i}
        for i, h in enumerate(households)])
    audit.record(actor, "print.create", "print_job", job.id, layout=layout, rotate=rotate,
                 households=len(households))
    return job


def rotate_codes(job: PrintJob) -> None:
    """Revoke the job's households' live codes and issue new ones, all in one transaction."""
    now = utcnow()
    ids = select(PrintJobHousehold.household_id).where(PrintJobHousehold.job_id == job.id)
    db.session.execute(update(DoorCode).where(DoorCode.household_id.in_(ids),
                                              DoorCode.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))
    db.session.execute(insert(DoorCode), [
        {"household_id": hid, "token": new_token(), "created_at": now}
        for hid in db.session.scalars(ids)])
    job.codes_rotated_at = now
    audit.record(job.created_by, "doorcode.rotate", "print_job", job.id, households=job.total)


def run_job(job_id: int, base_url: str, progress: Callable[[int], None] | None = None) -> bytes:
    """Rotate (once) if asked, render the PDF, keep it on the job. Commits as it goes.

    The codes follow CAREVISITS_QR_COMPACT; a base URL that gives more than the compact
    version is logged and printed all the same (the print page says so beforehand)."""
    compact = current_app.config["QR_COMPACT"]
    plan = qr_plan(base_url, compact)
    if plan.note:
        current_app.logger.warning("print job %s: %s. %s", job_id, plan.summary, plan.note)
    with write_transaction():
        job = db.session.get(PrintJob, job_id)
        job.status, job.done, job.error = JobStatus.RUNNING, 0, ""
        if job.rotate and job.codes_rotated_at is None:
            rotate_codes(job)
        db.session.commit()
    try:
        hotline = door_hotline()
        todo = [_card(row, base_url, hotline, compact)
                for row in db.session.execute(_cards_query(job))]
        db.session.commit()  # end the read: rendering holds no transaction open
        buf = io.BytesIO()

        def step(n: int) -> None:
            if progress is not None:
                progress(n)
            if n % PROGRESS_EVERY == 0:
                _save_progress(job_id, n)

        cards.render(todo, cards.get_layout(job.layout), buf, step)
        pdf = buf.getvalue()
    except Exception as err:
        db.session.rollback()
        with write_transaction():
            failed = db.session.get(PrintJob, job_id)
            failed.status, failed.error = JobStatus.FAILED, str(err)[:500]
            db.session.commit()
        raise
    with write_transaction():
        job = db.session.get(PrintJob, job_id)
        job.pdf, job.pdf_size, job.done = pdf, len(pdf), job.total
        job.status, job.finished_at = JobStatus.DONE, utcnow()
        db.session.commit()
    return pdf


def _save_progress(job_id: int, done: int) -> None:
    with write_transaction():
        db.session.execute(update(PrintJob).where(PrintJob.id == job_id)
                           .values(done=done, updated_at=utcnow()))
        db.session.commit()


def start_job(app: Flask, job_id: int) -> threading.Thread:
    """Render a committed job in a background thread, so no request waits for thousands."""
    def work():
        with app.app_context():
            try:
                run_job(job_id, app.config["BASE_URL"])
            except Exception:  # recorded on the job as failed; nothing to raise to
                app.logger.exception("print job %s failed", job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"print-job-{job_id}", daemon=True)
    thread.start()
    return thread


def requeue(job: PrintJob, now: datetime) -> bool:
    """Claim a failed or stalled job for another run at ``now``; False if running or done."""
    claimed = db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job.id,
               (PrintJob.status == JobStatus.FAILED)
               | (PrintJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])
                  & (PrintJob.updated_at < now - STALLED_AFTER)))
        .values(status=JobStatus.QUEUED, updated_at=now)
        .execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def is_stalled(job: PrintJob, now: datetime) -> bool:
    """A job that stopped reporting progress by ``now`` (its process died): it may be
    started again."""
    return (job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
            and now - job.updated_at > STALLED_AFTER)


def download(actor: User, job: PrintJob) -> bytes:
    """The finished job's PDF, for ``actor`` to download; every download is audited as
    ``print.download`` (the cards open the doors of the households on them)."""
    audit.record(actor, "print.download", "print_job", job.id)
    return job.pdf
