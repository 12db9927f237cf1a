# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance filters: ``compliance``, ``compliance_markdown`` and ``compliance_junit`` (docs: the .yml
files beside). The judging is ``module_utils/controls.py``; this file only adapts and renders."""
from __future__ import annotations

import datetime
import typing as t
import xml.etree.ElementTree as ET

from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.module_utils import controls, reports

# Status -> what a report shows; order = order of the summary columns.
STATUS_LABELS = {
    controls.PASS: "pass",
    controls.FAIL: "FAIL",
    controls.DEVIATION: "deviation",
    controls.NOT_APPLICABLE: "n/a",
    controls.UNKNOWN: "unknown",
}


def compliance(info_result: t.Mapping[str, t.Any], profile: str = "domain_kerberos",
               benchmark: str = controls.DEFAULT_BENCHMARK, stig: str = controls.DEFAULT_STIG,
               deviations: t.Mapping[str, str] | None = None,
               allowed_sddl_trustees: t.Sequence[str] | None = None) -> list[dict[str, t.Any]]:
    """A wsman.winrm.info result -> one result per control."""
    if not isinstance(info_result, t.Mapping):
        raise AnsibleFilterError("wsman.winrm.compliance expects the registered result of wsman.winrm.info "
                                 "(a dict), got %s" % type(info_result).__name__)
    if info_result.get("failed"):
        raise AnsibleFilterError("wsman.winrm.compliance: the wsman.winrm.info task failed: %s"
                                 % info_result.get("msg", "no message"))
    try:
        return controls.evaluate(info_result, profile, benchmark, stig, deviations or {},
                                 allowed_sddl_trustees or ())
    except ValueError as error:
        raise AnsibleFilterError("wsman.winrm.compliance: %s" % error) from None


def _by_host(results: t.Any, filter_name: str) -> dict[str, list[t.Mapping[str, t.Any]]]:
    """{host: [control results]} checked against the row contract (module_utils/reports.py)."""
    try:
        return reports.rows_by_host(results, "wsman.winrm." + filter_name)
    except reports.RowError as error:
        raise AnsibleFilterError(str(error)) from None


_text = reports.value_text


def _cell(value: t.Any) -> str:
    # A table cell is one line; a pipe would end the cell.
    return _text(value).replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def _reference_cell(result: t.Mapping[str, t.Any], key: str) -> str:
    return _cell((result.get("references") or {}).get(key) or "")


def _summary_row(name: str, counts: t.Mapping[str, int]) -> str:
    return "| %s | %s | %d |" % (_cell(name), " | ".join(str(counts.get(s, 0)) for s in STATUS_LABELS),
                                 counts.get("total", 0))


def compliance_markdown(results: t.Any, before: t.Any = None,
                        title: str = "WinRM compliance report") -> str:
    """{host: control results} -> a Markdown report; with ``before``, also what changed."""
    after_hosts = _by_host(results, "compliance_markdown")
    before_hosts = _by_host(before, "compliance_markdown") if before is not None else None
    lines = ["# %s" % title, ""]

    lines += ["## Summary", "",
              "| host | %s | total |" % " | ".join(STATUS_LABELS.values()),
              "| --- |%s --- |" % (" --- |" * len(STATUS_LABELS))]
    totals: dict[str, int] = {}
    for host in sorted(after_hosts):
        counts = controls.summarize(after_hosts[host])
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        lines.append(_summary_row(host, counts))
    lines.append(_summary_row("**all hosts**", totals))
    compliant = [h for h in sorted(after_hosts) if not controls.summarize(after_hosts[h])[controls.FAIL]]
    lines += ["", "%d of %d hosts have no failed control." % (len(compliant), len(after_hosts)), ""]

    if before_hosts is not None:
        lines += _comparison(before_hosts, after_hosts)

    for host in sorted(after_hosts):
        lines += ["## %s" % host, "",
                  "| status | control | title | CIS | STIG | severity | expected | actual | reason |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for result in after_hosts[host]:
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                STATUS_LABELS.get(result["status"], _cell(result["status"])), _cell(result["id"]),
                _cell(result.get("title")), _reference_cell(result, "cis"), _reference_cell(result, "stig"),
                _cell(result.get("severity")), _cell(result.get("expected")), _cell(result.get("actual")),
                _cell(result.get("reason"))))
        lines.append("")
    return "\n".join(lines)


def _comparison(before_hosts: t.Mapping[str, t.Any], after_hosts: t.Mapping[str, t.Any]) -> list[str]:
    lines = ["## Before and after", "",
             "| host | failed before | failed after | passed before | passed after |",
             "| --- | --- | --- | --- | --- |"]
    for host in sorted(set(before_hosts) | set(after_hosts)):
        old = controls.summarize(before_hosts.get(host, []))
        new = controls.summarize(after_hosts.get(host, []))
        lines.append("| %s | %d | %d | %d | %d |" % (_cell(host), old[controls.FAIL], new[controls.FAIL],
                                                     old[controls.PASS], new[controls.PASS]))
    changes = []
    for host in sorted(set(before_hosts) | set(after_hosts)):
        old_status = {r["id"]: r["status"] for r in before_hosts.get(host, [])}
        new_status = {r["id"]: r["status"] for r in after_hosts.get(host, [])}
        for control_id in list(dict.fromkeys(list(old_status) + list(new_status))):
            was, now = old_status.get(control_id, "-"), new_status.get(control_id, "-")
            if was != now:
                changes.append("| %s | %s | %s | %s |" % (_cell(host), _cell(control_id),
                                                          STATUS_LABELS.get(was, was), STATUS_LABELS.get(now, now)))
    lines.append("")
    if changes:
        lines += ["| host | control | before | after |", "| --- | --- | --- | --- |"] + changes
    else:
        lines.append("No control changed status.")
    lines.append("")
    return lines


def compliance_junit(results: t.Any, name: str = "wsman.winrm compliance", unknown_as: str = "error",
                     provenance: t.Mapping[str, t.Any] | None = None,
                     host_provenance: t.Mapping[str, t.Mapping[str, t.Any]] | None = None) -> str:
    """{host: control results} -> JUnit XML: one testsuite per host, one testcase per host and control.

    The outcome types the element: ``failure`` type="fail", ``error`` type="unknown" (or ``skipped``),
    ``skipped`` for deviation and not_applicable; each testcase carries its severity and references as
    properties and the finding (expected, actual, evidence) as text. Each testsuite says when and by
    what it was made: ``timestamp`` and ``properties`` from ``provenance`` (the run's) and
    ``host_provenance`` (the host's, e.g. its Windows and domain role)."""
    if unknown_as not in ("error", "skipped"):
        raise AnsibleFilterError("wsman.winrm.compliance_junit: unknown_as must be 'error' or 'skipped', got %r"
                                 % (unknown_as,))
    for option, value in (("provenance", provenance), ("host_provenance", host_provenance)):
        if value is not None and not isinstance(value, t.Mapping):
            raise AnsibleFilterError("wsman.winrm.compliance_junit: %s must be a dict, got %s"
                                     % (option, type(value).__name__))
    hosts = _by_host(results, "compliance_junit")
    root = ET.Element("testsuites", name=name)
    grand = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    rendered = datetime.datetime.now(datetime.timezone.utc)
    for host in sorted(hosts):
        made = _suite_provenance(provenance or {}, (host_provenance or {}).get(host) or {}, host)
        suite = ET.SubElement(root, "testsuite", name=host, hostname=host,
                              timestamp=_junit_timestamp(made.get("generated"), rendered))
        if made:
            suite_properties = ET.SubElement(suite, "properties")
            for key, value in made.items():
                ET.SubElement(suite_properties, "property", name=key, value=reports.xml_safe(value))
        counts = {"tests": len(hosts[host]), "failures": 0, "errors": 0, "skipped": 0}
        for result in hosts[host]:
            status = result["status"]
            case = ET.SubElement(suite, "testcase", classname="%s.%s" % (host, result["id"]), time="0",
                                 name=reports.xml_safe("%s: %s" % (result["id"], result.get("title", ""))))
            properties = ET.SubElement(case, "properties")
            for key, value in _junit_properties(result):
                ET.SubElement(properties, "property", name=key, value=reports.xml_safe(value))
            reason = reports.xml_safe(reports.value_text(result.get("reason")))
            detail = reports.xml_safe(reports.finding_text(result))
            if status == controls.FAIL:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=reason or "failed", type=status).text = detail
            elif status == controls.UNKNOWN and unknown_as == "error":
                counts["errors"] += 1
                ET.SubElement(case, "error", message=reason or "the data was not gathered", type=status).text = detail
            elif status != controls.PASS:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message="%s: %s" % (status, reason) if reason else status)
            ET.SubElement(case, "system-out").text = detail
        for key, value in counts.items():
            suite.set(key, str(value))
            grand[key] += value
    for key, value in grand.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _suite_provenance(run: t.Mapping[str, t.Any], host: t.Mapping[str, t.Any], name: str) -> dict[str, str]:
    """The run's provenance, then the host's (which wins), as property name -> text; a nested dict
    is flattened with its key as prefix (``stig: {version: ws2022}`` -> ``stig_version``)."""
    flat: dict[str, str] = {}

    def add(prefix: str, values: t.Mapping[str, t.Any]) -> None:
        for key, value in values.items():
            if isinstance(value, t.Mapping):
                add(prefix + str(key) + "_", value)
            elif value not in (None, ""):
                flat[prefix + str(key)] = reports.value_text(value)

    if not isinstance(host, t.Mapping):
        raise AnsibleFilterError("wsman.winrm.compliance_junit: host_provenance[%r] must be a dict, got %s"
                                 % (name, type(host).__name__))
    add("", run)
    add("", host)
    return flat


def _junit_timestamp(generated: str | None, rendered: datetime.datetime) -> str:
    """A testsuite's ``timestamp``: when the report was made (UTC), as Ant's JUnit formatter writes it,
    without a time zone (DateUtils.ISO8601_DATETIME_PATTERN, yyyy-MM-dd'T'HH:mm:ss; the junit-4.xsd of
    Jenkins' JUnit plugin allows no zone either). Without ``generated``, the time of this rendering."""
    when = rendered
    if generated:
        try:
            when = datetime.datetime.fromisoformat(generated)
        except ValueError:
            raise AnsibleFilterError("wsman.winrm.compliance_junit: provenance generated %r is not an ISO 8601 "
                                     "time; give it as 2026-01-31T12:00:00Z" % (generated,)) from None
        if when.tzinfo is not None:
            when = when.astimezone(datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def _junit_properties(result: t.Mapping[str, t.Any]) -> list[tuple[str, str]]:
    """severity first (the control's, then the STIG's category), then the references that are set."""
    refs = reports.references(result)
    pairs = [("severity", result.get("severity")), ("status", result["status"]),
             ("evaluated_status", result.get("evaluated_status")), ("stig_severity", refs.get("stig_severity")),
             ("stig", refs.get("stig")), ("stig_version", refs.get("stig_version")), ("cis", refs.get("cis")),
             ("cis_level", refs.get("cis_level")), ("cis_benchmark", refs.get("cis_benchmark"))]
    return [(key, reports.value_text(value)) for key, value in pairs if value not in (None, "")]


class FilterModule:
    """wsman.winrm compliance filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"compliance": compliance, "compliance_markdown": compliance_markdown,
                "compliance_junit": compliance_junit}
