"""Known vulnerabilities in the Python packages installed in this environment.

pip-audit asks PyPI's per-release JSON API (``/pypi/NAME/VERSION/json``) or
OSV; on the project's machines the first answers 404 and the second does not
resolve, so pip-audit cannot audit anything there. PyPI's project JSON
(``/pypi/NAME/json``) does answer, and lists the known vulnerabilities of the
project's latest release. This audit uses it:

* a package installed at its latest release is checked against that list;
* a package older than its latest release cannot be checked this way, and is
  listed as such (a fresh ``.venv`` gets the latest releases, except where a
  local wheel cache offers an older one).

Exit status 1 when an installed package has a known vulnerability, or when
PyPI could not be asked at all; 0 otherwise. One line per finding.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

INDEX = "https://pypi.org/pypi/{name}/json"
SKIP = {"graphsleuth"}  # the project itself, installed in editable mode


def installed() -> dict[str, str]:
    """Installed distributions: normalised name -> version."""
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name and name not in SKIP:
            found[name] = dist.version
    return found


def project(name: str) -> dict | None:
    """PyPI's project JSON for ``name``, or None when it cannot be fetched."""
    try:
        with urllib.request.urlopen(INDEX.format(name=name), timeout=30) as answer:
            return json.load(answer)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def audit(packages: dict[str, str]) -> tuple[list[str], list[str], list[str], int]:
    """(vulnerable lines, packages older than latest, packages PyPI did not answer for, number clean)."""
    names = sorted(packages)
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(names, pool.map(project, names)))
    vulnerable, older, unanswered, clean = [], [], [], 0
    for name in names:
        answer, version = answers[name], packages[name]
        if answer is None:
            unanswered.append(name)
            continue
        latest = answer.get("info", {}).get("version")
        if latest != version:
            older.append(f"{name} {version} (latest {latest})")
            continue
        known = [v for v in answer.get("vulnerabilities") or [] if not v.get("withdrawn")]
        for v in known:
            fixed = ", ".join(v.get("fixed_in") or []) or "no fix listed"
            vulnerable.append(f"{name} {version}: {v.get('id')} (fixed in {fixed})")
        clean += not known
    return vulnerable, older, unanswered, clean


def main() -> int:
    packages = installed()
    vulnerable, older, unanswered, clean = audit(packages)
    for line in vulnerable:
        print(f"VULNERABLE {line}")
    for line in older:
        print(f"not checked, older than the latest release: {line}")
    for name in unanswered:
        print(f"not checked, PyPI did not answer: {name}")
    print(f"audit: {len(packages)} packages, {clean} at their latest release with no known vulnerability, "
          f"{len(vulnerable)} known vulnerabilities, {len(older)} older than latest, {len(unanswered)} unanswered")
    if len(unanswered) == len(packages):
        print("audit: PyPI could not be asked; nothing was audited", file=sys.stderr)
        return 1
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
