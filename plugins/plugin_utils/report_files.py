# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compliance report files on the controller: one host's (written by wsman.winrm.converge in the
forks, as each host finishes) and the run's (wsman.winrm.compliance_report, once)."""

from __future__ import annotations

import json
import os
import tempfile
import typing as t

from ansible_collections.wsman.winrm.plugins.filter.compliance import compliance_junit, compliance_markdown

FORMATS = (".json", ".md", ".xml")


def write_atomically(path: str, text: str) -> None:
    """Readers never see half a report: write a temporary file beside it, then rename."""
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_reports(directory: str, name: str, after: t.Mapping[str, t.Any], before: t.Mapping[str, t.Any] | None,
                  data: t.Any, title: str, suite: str) -> list[str]:
    """<directory>/<name>.json (``data``), .md (with ``before`` when something changed) and .xml (JUnit)."""
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, name)
    write_atomically(base + ".json", json.dumps(data, default=str) + "\n")  # no indent: the C encoder
    write_atomically(base + ".md", compliance_markdown(after, before=before, title=title))
    write_atomically(base + ".xml", compliance_junit(after, name=suite))
    return [base + ext for ext in FORMATS]


def read_host_report(directory: str, host: str) -> dict[str, t.Any] | None:
    try:
        with open(os.path.join(directory, host + ".json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None
