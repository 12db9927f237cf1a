# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input every report renderer reads: the control rows of ``wsman.winrm.compliance``, per host.

Pure (standard library and ``controls`` only), shared by ``compliance_junit``, ``compliance_dashboard``
and ``stig_checklist``.

The row contract (one dict per control and host; docs/contracts.md, section "Compliance rows"):

- required: ``id`` (str), ``status`` (one of ``controls.STATUSES``);
- read when present: ``title``, ``severity`` (high|medium|low), ``references`` (``cis``, ``cis_level``,
  ``cis_benchmark``, ``stig`` (the STIG ID, e.g. WN22-CC-000470), ``stig_severity`` (CAT I|II|III),
  ``stig_version``, and, once the catalog carries them, ``stig_vuln`` (V-...) and ``stig_rule``
  (SV-..._rule)), ``expected``, ``actual``, ``reason``, ``evaluated_status``, ``evidence`` (list of
  ``setting``/``value``/``source``), ``setting`` (the Windows setting as an admin knows it, a dict such
  as ``group_policy``/``registry``/``winrm``), ``fix`` (how to fix a failed control) and ``change``
  (what an apply would change, in check mode).

Unknown keys are carried through untouched, so a renderer never drops what a newer judge adds.
"""
from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import controls

# Severity a STIG gives (CAT) -> the word checklists use (STIG Viewer: high/medium/low).
STIG_CATEGORY_SEVERITY = {"CAT I": "high", "CAT II": "medium", "CAT III": "low"}
SEVERITIES = ("high", "medium", "low")


class RowError(ValueError):
    """The input is not ``{host: rows}`` as ``wsman.winrm.compliance`` returns them; names the place."""


def rows_by_host(results: t.Any, consumer: str) -> dict[str, list[t.Mapping[str, t.Any]]]:
    """``{host: [rows]}`` checked against the contract; a bare list of rows is one host named ``host``."""
    if isinstance(results, t.Mapping):
        hosts = dict(results)
    elif isinstance(results, (list, tuple)):
        hosts = {"host": list(results)}
    else:
        raise RowError("%s expects {host: control results} (the output of wsman.winrm.compliance per host), "
                       "got %s" % (consumer, type(results).__name__))
    checked: dict[str, list[t.Mapping[str, t.Any]]] = {}
    for host, rows in hosts.items():
        if not isinstance(rows, (list, tuple)):
            raise RowError("%s: the value for host %r is a %s, not a list of control results (the output of "
                           "wsman.winrm.compliance)" % (consumer, host, type(rows).__name__))
        for index, row in enumerate(rows):
            where = "%s: host %r, control result %d" % (consumer, host, index)
            # Each message ends with what the whole value should be, for the user who passed another list.
            should = "; the value for host %r is not a list of control results (the output of wsman.winrm.compliance)" % host
            if not isinstance(row, t.Mapping):
                raise RowError("%s is a %s, not a dict%s" % (where, type(row).__name__, should))
            if not isinstance(row.get("id"), str) or not row["id"]:
                raise RowError("%s has no 'id' (the control id, e.g. service_basic)%s" % (where, should))
            if row.get("status") not in controls.STATUSES:
                raise RowError("%s (%s): 'status' is %r; expected one of %s%s"
                               % (where, row["id"], row.get("status"), ", ".join(controls.STATUSES), should))
        checked[str(host)] = list(rows)
    return checked


def value_text(value: t.Any) -> str:
    """A value as one report string: text as is, anything else as JSON (``null`` -> empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # what json writes, without an encoder per value (a fleet report has 100,000s)
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)  # an IntEnum too, as json writes it
    return _VALUE_JSON.encode(value)


_VALUE_JSON = json.JSONEncoder(sort_keys=True, default=str)


def references(row: t.Mapping[str, t.Any]) -> t.Mapping[str, t.Any]:
    refs = row.get("references")
    return refs if isinstance(refs, t.Mapping) else {}


def stig_severity(row: t.Mapping[str, t.Any]) -> str:
    """high|medium|low: the STIG's category when the row has one, else the control's own severity."""
    category = STIG_CATEGORY_SEVERITY.get(str(references(row).get("stig_severity") or ""))
    if category:
        return category
    severity = str(row.get("severity") or "").lower()
    return severity if severity in SEVERITIES else "medium"


def evidence_lines(row: t.Mapping[str, t.Any]) -> list[str]:
    lines = []
    for item in row.get("evidence") or []:
        if isinstance(item, t.Mapping):
            lines.append("%s = %s [%s]" % (item.get("setting"), value_text(item.get("value")) or "(none)",
                                           item.get("source") or "unknown source"))
    return lines


def finding_text(row: t.Mapping[str, t.Any]) -> str:
    """What was found, as plain text: status, expected, actual, why, references, evidence, fix."""
    refs = references(row)
    lines = ["status: %s" % row["status"]]
    if row.get("evaluated_status"):
        lines.append("status without the declared deviation: %s" % row["evaluated_status"])
    lines += ["expected: %s" % value_text(row.get("expected")),
              "actual: %s" % value_text(row.get("actual"))]
    if row.get("reason"):
        lines.append("reason: %s" % value_text(row.get("reason")))
    if refs.get("cis"):
        lines.append("CIS %s (%s) %s" % (refs["cis"], refs.get("cis_benchmark") or "", refs.get("cis_level") or ""))
    if refs.get("stig"):
        lines.append("STIG %s %s" % (refs["stig"], refs.get("stig_severity") or ""))
    if row.get("setting"):
        lines.append("setting: %s" % value_text(row.get("setting")))
    lines += ["evidence: %s" % line for line in evidence_lines(row)]
    if row.get("change"):
        lines.append("an apply would change: %s" % value_text(row.get("change")))
    if row.get("fix"):
        lines.append("fix: %s" % value_text(row.get("fix")))
    return "\n".join(line.rstrip() for line in lines)


def xml_safe(text: str) -> str:
    """Text XML 1.0 can carry: characters it forbids (control characters a hostile or broken host may
    return) become U+FFFD, so a report stays parseable (XML 1.0 section 2.2, production [2] Char)."""
    return _XML_FORBIDDEN.sub("\ufffd", text)


_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
