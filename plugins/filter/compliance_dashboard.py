# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``compliance_dashboard``: compliance rows of a fleet -> one self-contained HTML page (docs: the .yml beside).

The page is a Jinja template (``plugins/plugin_utils/templates/compliance_dashboard.html.j2``, or the
user's own) with its style and script inline and the fleet's data as one JSON block; the script draws the
grid in the browser, so the page stays small and opens fast with thousands of hosts. Its Content
Security Policy allows nothing to be fetched (``default-src 'none'``) and only this page's own script
to run (by its SHA-256), so the file needs no network and a value read from a host can never run as code.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import typing as t

import jinja2
from markupsafe import Markup

from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.module_utils import controls, reports

# Beside the plugin utilities, not in plugins/filter, where every file is taken for a filter plugin.
TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin_utils", "templates")
TEMPLATE = "compliance_dashboard.html.j2"
# Ansible's magic groups name every host; they would only repeat the whole fleet.
IGNORED_GROUPS = ("all", "ungrouped")


def compliance_dashboard(results: t.Any, groups: t.Mapping[str, t.Any] | None = None,
                         provenance: t.Mapping[str, t.Any] | None = None,
                         not_assessed: t.Any = None, host_details: t.Mapping[str, t.Any] | None = None,
                         title: str = "WinRM compliance", template: str | None = None) -> str:
    """{host: control results} -> an HTML document (str)."""
    name = "wsman.winrm.compliance_dashboard"
    for option, value in (("groups", groups), ("provenance", provenance), ("host_details", host_details)):
        if value is not None and not isinstance(value, t.Mapping):
            raise AnsibleFilterError("%s: %s must be a dict, got %s" % (name, option, type(value).__name__))
    try:
        hosts = reports.rows_by_host(results, name)
    except reports.RowError as error:
        raise AnsibleFilterError(str(error)) from None
    skipped = _not_assessed(not_assessed, name)
    data = fleet_data(hosts, groups or {}, skipped, host_details or {})
    stamp = {"generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
    stamp.update({str(k): reports.value_text(v) for k, v in (provenance or {}).items()})
    data["provenance"] = stamp
    return render(data, title, template)


def _not_assessed(value: t.Any, name: str) -> dict[str, str]:
    """Hosts no rows exist for (their info task failed): {host: why}; a list of names is accepted."""
    if value is None:
        return {}
    if isinstance(value, t.Mapping):
        return {str(host): reports.value_text(why) or "not assessed" for host, why in value.items()}
    if isinstance(value, (list, tuple)):
        return {str(host): "not assessed" for host in value}
    raise AnsibleFilterError("%s: not_assessed must be {host: reason} or a list of hosts, got %s"
                             % (name, type(value).__name__))


def _natural(name: str) -> list:
    """WIN-9 before WIN-10: digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", name)]


def _weight(severity: t.Any) -> int:
    return {"high": 3, "medium": 2, "low": 1}.get(str(severity or "").lower(), 1)


def fleet_data(hosts: t.Mapping[str, list[t.Mapping[str, t.Any]]], groups: t.Mapping[str, t.Any],
               not_assessed: t.Mapping[str, str], host_details: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The page's data: controls (worst first), hosts (worst first) with one cell per control, groups."""
    statuses = list(controls.STATUSES)
    control_ids: list[str] = []
    control_rows: dict[str, t.Mapping[str, t.Any]] = {}
    for rows in hosts.values():
        for row in rows:
            if row["id"] not in control_rows:
                control_ids.append(row["id"])
                control_rows[row["id"]] = row
    column = {control_id: index for index, control_id in enumerate(control_ids)}

    # A fleet's hosts mostly agree (the same title, references, expected value, often the same
    # evidence): each control keeps its most common value per key, each cell only what differs.
    common = _common_values(hosts, control_ids)
    host_list = []
    for host in sorted(hosts):
        cells = [-1] * len(control_ids)
        details: list[t.Any] = [None] * len(control_ids)
        for row in hosts[host]:
            index = column[row["id"]]
            cells[index] = statuses.index(row["status"])
            shared = common[row["id"]]
            details[index] = {key: value for key, value in row.items()
                              if key not in ("id", "status") and (key not in shared or shared[key] != value)}
        host_list.append({"name": host, "cells": cells, "rows": details})

    # Worst first: failed controls weighted by severity, then unknown (not judged), then the name.
    def host_key(item: dict[str, t.Any]) -> tuple:
        fails = sum(_weight(control_rows[control_ids[i]].get("severity")) for i, s in enumerate(item["cells"])
                    if s == statuses.index(controls.FAIL))
        unknown = item["cells"].count(statuses.index(controls.UNKNOWN))
        return (-fails, -unknown, _natural(item["name"]))

    host_list.sort(key=host_key)
    fail_counts = {cid: sum(1 for h in host_list if h["cells"][column[cid]] == statuses.index(controls.FAIL))
                   for cid in control_ids}
    order = sorted(control_ids,
                   key=lambda cid: (-fail_counts[cid], -_weight(control_rows[cid].get("severity")), column[cid]))

    known = set(hosts) | set(not_assessed)
    group_members = {}
    for group, members in sorted(groups.items()):
        if group in IGNORED_GROUPS or not isinstance(members, (list, tuple)):
            continue
        present = sorted(str(m) for m in members if str(m) in known)
        if present:
            group_members[str(group)] = present
    counts = {status: 0 for status in statuses}
    for item in host_list:
        for cell in item["cells"]:
            if cell >= 0:
                counts[statuses[cell]] += 1
    fail = statuses.index(controls.FAIL)
    return {
        "summary": {"counts": counts, "hosts": len(host_list), "not_assessed": len(not_assessed),
                    "without_failure": sum(1 for item in host_list if fail not in item["cells"]),
                    "controls": len(control_ids)},
        "worst_hosts": [{"name": item["name"], "fail": item["cells"].count(fail),
                         "unknown": item["cells"].count(statuses.index(controls.UNKNOWN))}
                        for item in host_list[:10] if fail in item["cells"]],
        "worst_controls": [{"id": cid, "title": control_rows[cid].get("title") or cid, "fail": fail_counts[cid],
                            "severity": control_rows[cid].get("severity") or ""}
                           for cid in order[:10] if fail_counts[cid]],
        "statuses": statuses,
        "controls": [dict(common[cid], id=cid) for cid in control_ids],
        "order": [column[cid] for cid in order],
        "hosts": host_list,
        "not_assessed": [{"name": host, "reason": why} for host, why in sorted(not_assessed.items())],
        "groups": group_members,
        "details": {str(h): {str(k): reports.value_text(v) for k, v in d.items()}
                    for h, d in host_details.items() if str(h) in known and isinstance(d, t.Mapping)},
    }


def _common_values(hosts: t.Mapping[str, list[t.Mapping[str, t.Any]]],
                   control_ids: list[str]) -> dict[str, dict[str, t.Any]]:
    """Per control, for each key every host's row has, the value most hosts have."""
    tallies: dict[str, dict[str, dict[str, list]]] = {cid: {} for cid in control_ids}
    counts = dict.fromkeys(control_ids, 0)
    for rows in hosts.values():
        for row in rows:
            counts[row["id"]] += 1
            for key, value in row.items():
                if key not in ("id", "status"):
                    encoded = repr(value)  # rows of one judge spell equal values alike
                    entry = tallies[row["id"]].setdefault(key, {}).setdefault(encoded, [0, value])
                    entry[0] += 1
    common = {}
    for cid in control_ids:
        common[cid] = {}
        for key, values in tallies[cid].items():
            if sum(count for count, _value in values.values()) == counts[cid]:
                common[cid][key] = max(values.values(), key=lambda entry: entry[0])[1]
    return common


def _script_json(data: t.Any) -> str:
    """JSON that is inert inside <script type="application/json">: no '<', '>' or '&' appears literally,
    so no value can close the element (the HTML standard's script data state ends only at '</')."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _sha256(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render(data: t.Mapping[str, t.Any], title: str, template: str | None = None) -> str:
    if template is not None and not os.path.isfile(template):
        raise AnsibleFilterError("wsman.winrm.compliance_dashboard: template %r is not a file; give the path of a "
                                 "Jinja template (start from the collection's plugins/plugin_utils/templates/%s)" % (template, TEMPLATE))
    with open(os.path.join(TEMPLATES, "compliance_dashboard.js"), encoding="utf-8") as handle:
        script = handle.read()
    with open(os.path.join(TEMPLATES, "compliance_dashboard.css"), encoding="utf-8") as handle:
        style = handle.read()
    folder, name = os.path.split(template) if template else (TEMPLATES, TEMPLATE)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader([folder, TEMPLATES]), autoescape=True,
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    policy = ("default-src 'none'; img-src data:; style-src %s; script-src %s; base-uri 'none'; form-action 'none'"
              % (_sha256(style), _sha256(script)))
    try:
        return environment.get_template(name).render(
            title=title, data=data, data_json=Markup(_script_json(data)),
            script=Markup(script), style=Markup(style),
            content_security_policy=policy, statuses=controls.STATUSES)
    except jinja2.TemplateError as error:
        raise AnsibleFilterError("wsman.winrm.compliance_dashboard: template %s: %s" % (template or TEMPLATE, error)) from None


class FilterModule:
    """wsman.winrm fleet dashboard."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"compliance_dashboard": compliance_dashboard}
