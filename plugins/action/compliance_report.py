# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.compliance_report: the run's compliance report, once, from the hosts' own reports.

``wsman.winrm.converge`` writes ``<dir>/<host>.json`` for every host as it finishes (in the forks,
at the same time). This task, run once, reads those files for the play's hosts and writes the
run's report (``<name>.json``, ``.md``, ``.html``, ``.xml``, the dashboard and the checklists): one pass over files on the controller instead of
templating every host's result through hostvars.
"""

from __future__ import annotations

import os
import typing as t

from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible.plugins.action import ActionBase

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, controls
from ansible_collections.wsman.winrm.plugins.plugin_utils.report_files import (
    provenance, read_host_report, side_by_side, write_checklists, write_dashboard, write_junit, write_reports,
)


class ActionModule(ActionBase):
    """Runs on the controller only; reports are output, not managed state (never "changed")."""

    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        validation, args = self.validate_argument_spec(argument_spec=argspecs.COMPLIANCE_REPORT["argument_spec"])
        if validation.error_messages:
            raise AnsibleActionFail("; ".join(validation.error_messages))
        hosts = args.get("hosts") if args.get("hosts") is not None else list(task_vars.get("ansible_play_hosts") or [])
        records, missing = {}, []
        for host in hosts:
            record = read_host_report(args["dir"], host)
            if record is None:
                missing.append(host)
            else:
                records[host] = record
        modes = sorted({record.get("mode", "") for record in records.values()})
        profiles = sorted({str(record.get("profile")) for record in records.values()})
        title = args.get("title") or "WinRM compliance (%s, %s)" % (", ".join(profiles), ", ".join(modes))
        after = {host: record.get("after") or [] for host, record in records.items()}
        changed = [record for record in records.values() if record.get("changed")]
        before = {host: record.get("before") or [] for host, record in records.items()} if changed else None
        benchmarks = sorted({str(((r.get("provenance") or {}).get("benchmark") or {}).get("id") or "")
                             for r in records.values()} - {""})
        run = provenance(benchmarks[0] if benchmarks else controls.DEFAULT_BENCHMARK, None, None)
        hosts_provenance = {host: record.get("provenance") or {} for host, record in records.items()}
        suite = "wsman.winrm " + args["name"]

        def fleet_files() -> tuple[list[str], str | None]:
            """The JUnit report, the dashboard and the checklists (beside the rest of the run's report,
            on another core: the two halves take about the same time)."""
            written: list[str] = []
            try:
                written.append(write_junit(args["dir"], args["name"], after, suite, run, hosts_provenance))
                if args["dashboard"]:
                    written.append(write_dashboard(args["dir"], args["name"], after, records, missing, run, title,
                                                   task_vars.get("groups") or {}, args.get("dashboard_template")))
                if args["checklists"]:
                    written += write_checklists(os.path.join(args["dir"], "checklists"), after, records, run)
            except (ValueError, AnsibleFilterError) as error:
                return written, str(error)
            return written, None

        def run_report() -> list[str]:
            return write_reports(args["dir"], args["name"], after, before, records, title, suite,
                                 run=run, host_provenance=hosts_provenance,
                                 templates={"markdown": args.get("markdown_template"),
                                            "html": args.get("html_template")}, junit=False)

        try:
            (fleet, fleet_error), files = side_by_side(fleet_files, run_report)
        except (ValueError, RuntimeError) as error:
            raise AnsibleActionFail("compliance_report: %s" % error) from None
        if fleet_error:
            raise AnsibleActionFail("compliance_report: %s" % fleet_error)
        files += fleet
        failing = sorted(host for host, results in after.items() if controls.summarize(results)[controls.FAIL])
        result.update(
            changed=False, hosts=len(records), failing_hosts=failing, missing=missing,
            files=files,
            msg="Compliance reports of %d host(s) in %s: %s.{json,md,html,xml}%s for the run, <host>.{json,md,html,xml} "
                "per host%s; %d host(s) with a failed control%s." % (
                    len(records), os.path.abspath(args["dir"]), args["name"],
                    " and %s_dashboard.html (the fleet dashboard)" % args["name"] if args["dashboard"] else "",
                    ", checklists/<host>.{cklb,ckl} (STIG Viewer)" if args["checklists"] else "", len(failing),
                    (" (no report from: %s)" % ", ".join(missing)) if missing else ""))
        return result
