"""The import benchmark (bench/import_register.py) still runs: a quick run on SQLite prints
its table for each size (seconds, ratio to reading the file, peak memory) and the growth of
memory from the small file to the large one."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_quick_run_prints_its_tables(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVISITS_")}
    env["CAREVISITS_INSTANCE_PATH"] = str(tmp_path)
    run = subprocess.run([sys.executable, "bench/import_register.py", "--quick"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    out = run.stdout
    for rows in (200, 400):
        assert f"SQLite: {rows} rows (median of the runs)" in out
    for step in ("baseline", "preview", "apply", "preview+apply", "again"):
        assert re.search(rf"^  {re.escape(step)} +\d+\.\d\d +\d+\.\d", out, re.MULTILINE), step
    assert "SQLite: peak memory, 200 → 400 rows" in out
