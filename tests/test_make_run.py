"""`make run` works from a fresh copy of the repository: it sets up the database, loads the
demo, says how to sign in and serves pages a demo account can use."""

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix) if (Path(sys.prefix) / "bin" / "flask").exists() else REPO / ".venv"
DEMO_PASSWORD = "carevisits-demo"
STARTUP_SECONDS = 90


def _git_files(*args: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", *args], cwd=REPO, check=True,
                         capture_output=True).stdout.decode()
    return [name for name in out.split("\0") if name]


def copy_repository(target: Path) -> None:
    """Copy what git tracks or would track (not ignored), keeping modification times."""
    for name in sorted(set(_git_files()) | set(_git_files("--others", "--exclude-standard"))):
        source = REPO / name
        if not source.is_file():  # deleted in the working tree, or not a plain file
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    """The environment without anything that would point the copy elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CAREVISITS_")  # the copy uses its own instance/ SQLite file
           and k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "FLASK_APP", "FLASK_DEBUG"}}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def opener() -> urllib.request.OpenerDirector:
    """A cookie-keeping HTTP client that never goes through a proxy."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def get(client, url: str) -> tuple[int, str, str]:
    try:
        with client.open(url, timeout=10) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, url, err.read().decode(errors="replace")


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if get(opener(), url)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer 200 within {STARTUP_SECONDS}s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """End make and everything it started (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def sign_in(client, base: str, username: str, password: str) -> tuple[int, str, str]:
    status, _, page = get(client, f"{base}/login")
    assert status == 200
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, page
    data = urllib.parse.urlencode({"csrf_token": token.group(1), "username": username,
                                   "password": password}).encode()
    try:
        with client.open(f"{base}/login", data=data, timeout=10) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, f"{base}/login", err.read().decode(errors="replace")


def demo_elder_names(database: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return [name for (name,) in conn.execute("SELECT name FROM elder")]


def test_make_run_serves_the_demo_from_a_fresh_copy(tmp_path):
    # The project's two commands need make, and the copy is made from git's file list.
    assert shutil.which("make") and shutil.which("git"), "make and git are needed"
    assert (REPO / ".git").exists(), "run from a git checkout"
    copy = tmp_path / "carevisits"
    copy_repository(copy)
    assert not (copy / "instance").exists()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "make-run.log"
    env = clean_env()

    with log.open("wb") as out:
        # -o: the shared virtual environment counts as installed; nothing is reinstalled.
        proc = subprocess.Popen(
            ["make", "-o", f"{VENV}/.installed", "run", f"VENV={VENV}", "HOST=127.0.0.1",
             f"PORT={port}"],
            cwd=copy, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            wait_until_serving(proc, f"{base}/login", log)
            output = log.read_text()
            assert "worker" in output and DEMO_PASSWORD in output, output

            client = opener()
            status, url, _ = sign_in(client, base, "worker", DEMO_PASSWORD)
            assert status == 200 and url == f"{base}/round/", (status, url)
            status, _, page = get(client, f"{base}/round/")
            assert status == 200
            database = copy / "instance" / "carevisits.sqlite3"
            assert database.is_file(), "make run did not use the copy's instance/ database"
            names = demo_elder_names(database)
            assert names, "the demo loaded no elders"
            assert any(name in page for name in names), page
        finally:
            stop(proc)

    # The door URLs carry the address `make run` served on: one source for both.
    codes = subprocess.run(["make", "-s", "-o", f"{VENV}/.installed", "codes", f"VENV={VENV}",
                            "HOST=127.0.0.1", f"PORT={port}", "GRID=芙蓉街社区 第一网格"],
                           cwd=copy, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=120)
    assert codes.returncode == 0, codes.stdout + codes.stderr
    urls = [line.split("\t")[2] for line in codes.stdout.splitlines() if "\t" in line]
    assert urls and all(url.startswith(f"{base}/c/") for url in urls), codes.stdout

    # The demo loads once: running it again adds nothing.
    again = subprocess.run([str(VENV / "bin" / "flask"), "--app", "wsgi", "demo"], cwd=copy,
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing added" in again.stdout, again.stdout + again.stderr
    assert len(demo_elder_names(copy / "instance" / "carevisits.sqlite3")) == len(names)
