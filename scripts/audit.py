"""`make audit`, first half: known vulnerabilities in the installed dependencies (pip-audit).

    .venv/bin/python scripts/audit.py [pip-audit options, e.g. -s osv]

pip-audit asks a vulnerability service (PyPI's by default, OSV with ``-s osv``) about every
installed distribution. When that service cannot be reached, pip-audit either fails with a
traceback or marks each dependency "not found" and still prints "No known vulnerabilities
found" with exit status 0. This wrapper reads its JSON report instead and tells the three
outcomes apart:

  0  every dependency was checked and none has a known vulnerability;
  1  known vulnerabilities (each listed with the versions that fix it);
  2  the service could not be reached, or some dependencies could not be checked: there is
     no result, and it says so.
"""

import json
import subprocess
import sys

EDITABLE = "distribution marked as editable"  # carevisits itself: not on any index


def run_pip_audit(options: list[str]) -> tuple[dict | None, str]:
    """pip-audit's JSON report of this interpreter's environment (None if it gave none) and
    the last line it wrote to stderr."""
    command = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner",
               "off", "--format", "json", "--desc", "off", *options]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    try:
        return json.loads(done.stdout), lines[-1] if lines else ""
    except ValueError:
        return None, lines[-1] if lines else f"exit status {done.returncode}"


def main() -> int:
    report, last_error = run_pip_audit(sys.argv[1:])
    if report is None:
        print(f"pip-audit: the vulnerability service could not be reached ({last_error}).\n"
              "Nothing was checked: this is not a clean result.", file=sys.stderr)
        return 2
    deps = report.get("dependencies", [])
    checked = [d for d in deps if "skip_reason" not in d]
    unchecked = [d for d in deps if d.get("skip_reason", EDITABLE) != EDITABLE]
    if not checked:
        reason = unchecked[0]["skip_reason"] if unchecked else "no dependencies found"
        print(f"pip-audit: the vulnerability service answered for none of the {len(unchecked)} "
              f"installed dependencies (e.g. \"{reason}\"): it cannot be reached from here.\n"
              "Nothing was checked: this is not a clean result. Run it where PyPI "
              "(https://pypi.org/pypi/…/json) can be reached, or with AUDIT_OPTIONS='-s osv' "
              "for https://api.osv.dev.", file=sys.stderr)
        return 2
    vulnerable = [d for d in checked if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    for dep in unchecked:
        print(f"not checked: {dep['name']}: {dep['skip_reason']}", file=sys.stderr)
    print(f"pip-audit: {len(checked)} dependencies checked, {len(vulnerable)} with known "
          f"vulnerabilities, {len(unchecked)} could not be checked.")
    return 1 if vulnerable else 2 if unchecked else 0


if __name__ == "__main__":
    sys.exit(main())
