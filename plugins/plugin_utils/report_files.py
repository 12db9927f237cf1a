# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compliance report files on the controller: one host's (written by wsman.winrm.converge in the
forks, as each host finishes) and the run's (wsman.winrm.compliance_report, once)."""

from __future__ import annotations

import datetime
import json
import os
import pickle
import tempfile
import typing as t

from ansible_collections.wsman.winrm.plugins.filter.compliance import STATUS_LABELS, compliance_junit
from ansible_collections.wsman.winrm.plugins.module_utils import controls, reports

FORMATS = (".json", ".md", ".html", ".xml")
_COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_VERSION: list[str] = []


def collection_version() -> str:
    """The installed collection's version (its MANIFEST.json; galaxy.yml in a source checkout)."""
    if not _VERSION:
        version = "unknown"
        try:
            with open(os.path.join(_COLLECTION_ROOT, "MANIFEST.json"), encoding="utf-8") as handle:
                version = json.load(handle)["collection_info"]["version"]
        except (OSError, ValueError, KeyError):
            try:
                with open(os.path.join(_COLLECTION_ROOT, "galaxy.yml"), encoding="utf-8") as handle:
                    version = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("version:")),
                                   version)
            except OSError:
                pass
        _VERSION.append(version)
    return _VERSION[0]


def provenance(benchmark: str, stig: t.Mapping[str, t.Any] | None,
               system: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """When, by what and against what a report was made: the UTC time, the collection and
    ansible-core versions, the CIS benchmark and STIG (and why that STIG), the host's Windows
    version and domain role as WMI reported them (None when not read)."""
    from ansible.release import __version__ as ansible_core_version

    return {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "collection": "wsman.winrm %s" % collection_version(),
        "ansible_core": ansible_core_version,
        "benchmark": {"id": benchmark, "title": controls.BENCHMARKS[benchmark].title if benchmark in controls.BENCHMARKS
                      else benchmark},
        "stig": dict(stig or {}),
        "system": dict(system) if system else None,
    }


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


def side_by_side(side: t.Callable[[], t.Any], main: t.Callable[[], t.Any]) -> tuple[t.Any, t.Any]:
    """``(side(), main())`` with ``side`` in a forked child while ``main`` runs here: the run's report
    of a large fleet is seconds of CPU on one core after every host is done, and the controller has
    more. ``side`` returns something picklable and reports its own expected errors in it; anything
    it raises comes back as a RuntimeError with its text. No fork (not POSIX, or it fails): one
    after the other."""
    try:
        incoming, outgoing = os.pipe()
    except OSError:
        return side(), main()
    try:
        pid = os.fork()
    except (AttributeError, OSError):
        os.close(incoming)
        os.close(outgoing)
        return side(), main()
    if pid == 0:  # the child: never returns into the caller's stack, never runs its exit handlers
        status = 1
        try:
            os.close(incoming)
            try:
                payload = pickle.dumps((True, side()))
            except Exception as error:  # pylint: disable=broad-except  # carried to the parent as text
                payload = pickle.dumps((False, "%s: %s" % (type(error).__name__, error)))
            with os.fdopen(outgoing, "wb") as stream:
                stream.write(payload)
            status = 0
        finally:
            os._exit(status)  # pylint: disable=protected-access
    os.close(outgoing)
    try:
        main_result = main()
    finally:
        with os.fdopen(incoming, "rb") as stream:
            data = stream.read()
        os.waitpid(pid, 0)
    succeeded, value = pickle.loads(data) if data else (False, "the child process ended without a result")
    if not succeeded:
        raise RuntimeError(value)
    return value, main_result


TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# The report templates by kind: (the collection's file, escaped as HTML).
REPORT_TEMPLATES = {"markdown": ("compliance_report.md.j2", False), "html": ("compliance_report.html.j2", True)}
_COMPILED: dict[tuple[str, str], t.Any] = {}


def _template(kind: str, path: str | None) -> t.Any:
    """A report template: the user's file, or the collection's; compiled once per process."""
    import jinja2

    key = (kind, path or "")
    if key not in _COMPILED:
        default, escaped = REPORT_TEMPLATES[kind]
        if path is not None and not os.path.isfile(path):
            raise ValueError("%s_template %r is not a file; give the path of a Jinja template (start from the "
                             "collection's plugins/plugin_utils/templates/%s)" % (kind, path, default))
        folder, name = os.path.split(path) if path else (TEMPLATES, default)
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader([folder, TEMPLATES]), autoescape=escaped,
                                         keep_trailing_newline=True)
        environment.filters["cell"] = _cell
        environment.filters["text"] = reports.value_text
        try:
            _COMPILED[key] = environment.get_template(name)
        except jinja2.TemplateError as error:
            raise ValueError("%s_template %s: %s" % (kind, path or default, error)) from None
    return _COMPILED[key]


def _cell(value: t.Any) -> str:
    """One Markdown table cell: one line, a pipe would end the cell."""
    return reports.value_text(value).replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def report_context(after: t.Mapping[str, t.Any], before: t.Mapping[str, t.Any] | None, title: str,
                   run: t.Mapping[str, t.Any], host_provenance: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What the report templates receive: the rows per host, their provenance, before and after."""

    hosts = []
    totals = dict.fromkeys(list(controls.STATUSES) + ["total"], 0)
    for host in sorted(after):
        counts = controls.summarize(after[host])
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        hosts.append({"name": host, "rows": [_row(r) for r in after[host]], "counts": counts,
                      "provenance": host_provenance.get(host) or {}})
    comparison = None
    if before is not None:
        comparison = {"hosts": [], "changes": []}
        for host in sorted(set(before) | set(after)):
            old, new = controls.summarize(before.get(host, [])), controls.summarize(after.get(host, []))
            comparison["hosts"].append({"name": host, "failed_before": old[controls.FAIL], "failed_after": new[controls.FAIL],
                                        "passed_before": old[controls.PASS], "passed_after": new[controls.PASS]})
            was = {r["id"]: r["status"] for r in before.get(host, [])}
            for row in after.get(host, []):
                if was.get(row["id"], "-") != row["status"]:
                    comparison["changes"].append({"host": host, "id": row["id"],
                                                  "before": STATUS_LABELS.get(was.get(row["id"], "-"), "-"),
                                                  "after": STATUS_LABELS.get(row["status"], row["status"])})
    return {"title": title, "provenance": run, "hosts": hosts, "totals": totals, "labels": STATUS_LABELS,
            "comparison": comparison, "compliant": sum(1 for host in hosts if not host["counts"][controls.FAIL])}


def render(kind: str, context: t.Mapping[str, t.Any], template: str | None = None) -> str:
    """One report (``markdown`` or ``html``) from its template."""
    import jinja2

    try:
        return _template(kind, template).render(**context)
    except jinja2.TemplateError as error:
        raise ValueError("%s_template %s: %s" % (kind, template or REPORT_TEMPLATES[kind][0], error)) from None


def _row(row: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """A row with every key the template reads (rows of an older report lack the newer ones)."""
    return dict({"title": "", "severity": "", "expected": None, "actual": None, "reason": "", "references": {},
                 "evidence": [], "setting": {}, "fix": "", "change": None}, **row)


def write_reports(directory: str, name: str, after: t.Mapping[str, t.Any], before: t.Mapping[str, t.Any] | None,
                  data: t.Any, title: str, suite: str, run: t.Mapping[str, t.Any] | None = None,
                  host_provenance: t.Mapping[str, t.Any] | None = None,
                  templates: t.Mapping[str, str | None] | None = None, junit: bool = True) -> list[str]:
    """<directory>/<name>.json (``data``), .md and .html (from the templates, with ``before`` when
    something changed) and .xml (JUnit; ``junit=False``: the caller writes it with write_junit).
    ``templates``: the user's, by kind (markdown, html)."""
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, name)
    context = report_context(after, before, title, run or {}, host_provenance or {})
    markdown = render("markdown", context, (templates or {}).get("markdown"))
    page = render("html", context, (templates or {}).get("html"))
    write_atomically(base + ".json", json.dumps(data, default=str) + "\n")  # no indent: the C encoder
    write_atomically(base + ".md", markdown)
    write_atomically(base + ".html", page)
    if junit:
        write_junit(directory, name, after, suite, run, host_provenance)
    return [base + ext for ext in FORMATS if junit or ext != ".xml"]


def write_junit(directory: str, name: str, after: t.Mapping[str, t.Any], suite: str,
                run: t.Mapping[str, t.Any] | None = None,
                host_provenance: t.Mapping[str, t.Any] | None = None) -> str:
    """<directory>/<name>.xml: the JUnit report (wsman.winrm.compliance_junit)."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name + ".xml")
    write_atomically(path, compliance_junit(after, name=suite, provenance=run or {},
                                            host_provenance=host_provenance or {}))
    return path


def read_host_report(directory: str, host: str) -> dict[str, t.Any] | None:
    try:
        with open(os.path.join(directory, host + ".json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _flat(provenance_: t.Mapping[str, t.Any]) -> dict[str, str]:
    """The run's provenance as label -> text (the dashboard's and the checklists' header lines)."""
    benchmark = provenance_.get("benchmark") or {}
    return {"generated": str(provenance_.get("generated") or ""), "collection": str(provenance_.get("collection") or ""),
            "ansible-core": str(provenance_.get("ansible_core") or ""),
            "CIS benchmark": str(benchmark.get("title") or benchmark.get("id") or "")}


def _host_details(record: t.Mapping[str, t.Any]) -> dict[str, str]:
    """What the dashboard's drill-down and the checklist comments say of a host: its Windows and STIG."""
    found = record.get("provenance") or {}
    system, stig = found.get("system") or {}, found.get("stig") or {}
    details = {"Windows": ("%s %s" % (system.get("os_caption") or "", system.get("os_version") or "")).strip()
               or "not read", "domain role": str(system.get("domain_role_name") or "not read")}
    if stig:
        release = " " + stig["release"] if stig.get("release") else ""
        details["STIG"] = "%s%s (%s: %s)" % (stig.get("title"), release, stig.get("source"), stig.get("reason"))
    details["mode"] = str(record.get("mode") or "")
    return details


def write_dashboard(directory: str, name: str, after: t.Mapping[str, t.Any], records: t.Mapping[str, t.Any],
                    missing: t.Sequence[str], run: t.Mapping[str, t.Any], title: str, groups: t.Mapping[str, t.Any],
                    template: str | None = None) -> str:
    """<directory>/<name>_dashboard.html: the fleet dashboard (wsman.winrm.compliance_dashboard), once per run."""
    from ansible_collections.wsman.winrm.plugins.filter.compliance_dashboard import compliance_dashboard

    page = compliance_dashboard(dict(after), groups={g: list(m) for g, m in groups.items()}, provenance=_flat(run),
                                not_assessed={host: "no report from this host in this run" for host in missing},
                                host_details={host: _host_details(record) for host, record in records.items()},
                                title=title, template=template)
    path = os.path.join(directory, name + "_dashboard.html")
    write_atomically(path, page)
    return path


def write_checklists(directory: str, after: t.Mapping[str, t.Any], records: t.Mapping[str, t.Any],
                     run: t.Mapping[str, t.Any]) -> list[str]:
    """<directory>/<host>.cklb and .ckl: one STIG Viewer checklist per host, in both formats."""
    from ansible_collections.wsman.winrm.plugins.filter.stig_checklist import stig_checklist

    os.makedirs(directory, exist_ok=True)
    targets = {}
    for host, record in records.items():
        system = (record.get("provenance") or {}).get("system") or {}
        target: dict[str, t.Any] = {"ansible_host": (record.get("endpoint") or {}).get("host") or "",
                                    "comments": "; ".join("%s: %s" % item for item in _host_details(record).items())}
        if system.get("domain_role") is not None:
            target["domain_role"] = system["domain_role"]
        targets[host] = target
    judged = {host: rows for host, rows in after.items() if any((r.get("references") or {}).get("stig") for r in rows)}
    files = []
    for form in ("cklb", "ckl"):
        documents = stig_checklist(judged, form, targets=targets, provenance=_flat(run)) if judged else {}
        for host, document in documents.items():
            path = os.path.join(directory, "%s.%s" % (host, form))
            write_atomically(path, document)
            files.append(path)
    return files


# The collection's templates are compiled when the action plugins are imported, in the controller's main
# process (the strategy imports them there), so no fork compiles them again (~20 ms a host).
for _kind in REPORT_TEMPLATES:
    _template(_kind, None)
