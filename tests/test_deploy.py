"""The production pieces in deploy/: the systemd units pass `systemd-analyze verify`, the
nginx site passes `nginx -t`, and `flask scheduler run` (the scheduler unit's command) runs
rounds under the web processes' lock and stops on SIGTERM."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import flask_migrate
import pytest

from carevisits import scheduler
from carevisits.extensions import db
from tests.conftest import make_app

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
VENV = Path(sys.prefix) if (Path(sys.prefix) / "bin" / "flask").exists() else REPO / ".venv"
INSTALL_DIR = "/opt/carevisits"
UNITS = ("carevisits-web.service", "carevisits-scheduler.service")


def unit_lines(name: str) -> list[str]:
    """The settings of a unit file, comments left out."""
    return [line.strip() for line in (DEPLOY / name).read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_systemd_units_have_no_errors(tmp_path):
    """systemd-analyze comes with Debian's systemd, which `make test` installs when missing."""
    # verify also wants the commands to exist: the install folder becomes this checkout.
    copies = []
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace(f"{INSTALL_DIR}/.venv", str(VENV))
        (tmp_path / name).write_text(text.replace(INSTALL_DIR, str(REPO)))
        copies.append(str(tmp_path / name))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *copies],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_web_unit_leaves_the_scans_to_the_scheduler_unit():
    web, jobs = unit_lines(UNITS[0]), unit_lines(UNITS[1])
    for lines in (web, jobs):
        assert "EnvironmentFile=/etc/carevisits/env" in lines
        assert f"WorkingDirectory={INSTALL_DIR}" in lines
        assert "NoNewPrivileges=yes" in lines and "ProtectSystem=strict" in lines
    assert "Environment=CAREVISITS_SCHEDULER=0" in web
    assert any(line.startswith("ExecStart=") and "gunicorn -c gunicorn.conf.py" in line
               for line in web)
    assert f"ExecStart={INSTALL_DIR}/.venv/bin/flask --app wsgi scheduler run" in jobs


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "no nginx: `make system-deps` installs Debian's nginx-light"
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=care.example.gov.cn", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "nginx" / "carevisits.conf").read_text()
    for placeholder, real in (("/etc/ssl/carevisits/fullchain.pem", cert),
                              ("/etc/ssl/carevisits/privkey.pem", key),
                              ("/var/log/nginx", tmp_path)):
        assert placeholder in site
        site = site.replace(placeholder, str(real))
    (tmp_path / "carevisits.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  include {tmp_path}/carevisits.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-e", str(tmp_path / "error.log"), "-p",
                             str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr


def test_the_nginx_site_redirects_to_https_and_passes_what_the_app_needs():
    site = (DEPLOY / "nginx" / "carevisits.conf").read_text()
    assert "return 301 https://$host$request_uri;" in site
    assert "location = /healthz" in site
    for header in ("X-Forwarded-For $proxy_add_x_forwarded_for",
                   "X-Forwarded-Proto $scheme", "X-Request-ID"):
        assert site.count(f"proxy_set_header {header}") == 2, header  # healthz and the rest
    assert "application/json" in site and "text/css" in site and "gzip on;" in site
    assert "$request_uri" not in site.split("log_format")[1].split(";")[0]  # no door tokens


def test_scheduler_run_once_takes_the_lock_or_leaves_the_round(app, runner):
    result = runner.invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code == 0 and "new overdue alerts" in result.output
    with scheduler.scan_lock(app) as held:  # another process is scanning
        assert held
        skipped = runner.invoke(args=["scheduler", "run", "--once"])
    assert skipped.exit_code == 0 and "Another process is scanning" in skipped.output


@pytest.mark.slow
def test_scheduler_run_runs_rounds_until_sigterm(tmp_path):
    database = tmp_path / "jobs.sqlite3"
    app = make_app(f"sqlite:///{database}", tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVISITS_")}
    env.update(CAREVISITS_DATABASE_URL=f"sqlite:///{database}", CAREVISITS_SCAN_MINUTES="0.01",
               CAREVISITS_INSTANCE_PATH=str(tmp_path / "instance"))
    jobs = subprocess.Popen([str(VENV / "bin" / "flask"), "--app", "wsgi", "scheduler", "run"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        lock = database.with_name(database.name + ".scan-lock")  # made by the first round
        deadline = time.monotonic() + 60
        while not lock.exists() and time.monotonic() < deadline and jobs.poll() is None:
            time.sleep(0.1)
        assert lock.exists(), "no round ran"
        jobs.send_signal(signal.SIGTERM)
        output, _ = jobs.communicate(timeout=30)
    finally:
        if jobs.poll() is None:
            jobs.kill()
            jobs.communicate()
    assert jobs.returncode == 0, output
    assert "Scanning every 0.01 minutes." in output and "Scheduler stopped." in output
