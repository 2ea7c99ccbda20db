"""The scanning benchmark (bench/scan_robustness.py) prints real cards, photographs their codes
and prints its tables: a smoke run with two cards."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_quick_run_prints_decode_rates_versions_and_distance_ratios(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVISITS_")}
    env["CAREVISITS_INSTANCE_PATH"] = str(tmp_path)  # no secret key written into the checkout
    run = subprocess.run([sys.executable, "bench/scan_robustness.py", "--quick", "-n", "2"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    out = run.stdout
    assert "N=2 cards per cell" in out
    # Today's cards are version 6; the compact ones, printed by the app, version 4.
    assert re.search(r"today +version 6 \(41×41\)", out)
    assert re.search(r"compact +version 4 \(33×33\)", out)
    assert re.search(r"e\.g\. https://care\.example\.gov\.cn/c/[A-Za-z0-9_-]{43}\n", out)
    # The scheme stays lower case: docs/DECISIONS.md, "Scanners and upper-case URLs".
    assert re.search(r"e\.g\. https://CARE\.EXAMPLE\.GOV\.CN/C/[A-Z2-7]{32}\n", out)
    assert "decode rate by camera pixels per mm of card" in out
    assert "decode rate by lens blur at 6.5 px/mm" in out
    rows = re.findall(r"^ +(\d\.\d\d) \|(.*)$", out, re.MULTILINE)
    assert [level for level, _ in rows] == ["2.50", "4.50", "6.50", "1.00", "2.50"]
    # Close up, in typical light with little blur, every code of both kinds decodes.
    close = rows[2][1].split("|")[0]
    assert close.split() == ["100%", "100%"]
    assert re.search(r"typical +50%: .* = .*90%: ", out) and re.search(r"dim +50%: ", out)
    assert "wrong decodes (a code read as another URL): 0" in out
