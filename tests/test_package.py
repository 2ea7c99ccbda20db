"""The built wheel is the whole app: installed in a fresh virtual environment, away from the
repository, it upgrades an empty database and serves its pages in Chinese."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.test_make_run import clean_env, free_port, get, opener, sign_in, stop, wait_until_serving

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "package-test-password"
# What a non-editable install needs besides the Python modules, as the wheel names them.
PACKAGE_DATA = [
    "carevisits/templates/base.html",
    "carevisits/templates/auth/login.html",
    "carevisits/static/app.css",
    "carevisits/printables/a4-8up.toml",
    "carevisits/migrations/env.py",
    "carevisits/migrations/alembic.ini",
    "carevisits/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
]


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run a command to completion; a failure shows everything it printed."""
    done = subprocess.run(args, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          **kwargs)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from the repository (in an isolated build environment)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
         str(REPO)], cwd=out)
    (built,) = out.glob("carevisits-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel and its dependencies (from pip's cache)."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv)
    run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", str(wheel)], cwd=venv)
    return venv


def test_the_wheel_carries_templates_static_files_layouts_migrations_and_catalogues(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert [name for name in PACKAGE_DATA if name not in names] == []
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]


def test_the_installed_wheel_upgrades_a_database_and_serves_chinese_pages(installed, tmp_path):
    bin_dir = installed / "bin"
    # Run from a folder outside the repository: only the installed package can answer.
    where = run([str(bin_dir / "python"), "-c", "import carevisits; print(carevisits.__file__)"],
                cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(installed)

    run([str(bin_dir / "flask"), "--app", "carevisits", "db", "upgrade"], cwd=tmp_path)
    # Flask's instance folder of an installed package: <venv>/var/carevisits-instance.
    assert (installed / "var" / "carevisits-instance" / "carevisits.sqlite3").is_file()
    run([str(bin_dir / "flask"), "--app", "carevisits", "users", "create-admin", "admin"],
        cwd=tmp_path, input=f"{PASSWORD}\n{PASSWORD}\n")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "carevisits:create_app()"],
            cwd=tmp_path, env=clean_env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_until_serving(server, f"{base}/login", log)
        client = opener()
        status, _, login_page = get(client, f"{base}/login")
        assert status == 200
        assert '<html lang="zh-CN">' in login_page
        assert "<h1>登录</h1>" in login_page and "Sign in" not in login_page
        assert get(client, f"{base}/static/app.css")[0] == 200

        status, url, home = sign_in(client, base, "admin", PASSWORD)
        assert (status, url) == (200, f"{base}/admin/users")
        assert "用户管理" in home and "退出登录" in home
    finally:
        stop(server)
