# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``stig_checklist``: compliance rows -> one DISA STIG Viewer checklist per host (docs: stig_checklist.yml).

Two formats, both as STIG Viewer writes them:

- CKLB, the JSON checklist of STIG Viewer 3 (``cklb_version`` "1.0"): the keys and their order follow
  checklists saved by STIG Viewer 3 (for example the public test checklists of the STIG Manager
  project, NUWCDIVNPT/stig-manager-client-modules, test-files/parsers/cklb/*.cklb) and the CKLB
  schema's property list (mitre/heimdall2, libs/hdf-converters/src/ckl-mapper/checklist-b-types.ts);
- CKL, the XML checklist of STIG Viewer 2.x: DISA's U_Checklist_Schema_V2.xsd (schema version 2.5,
  shipped inside STIG Viewer; a copy is kept at mitre/heimdall2 libs/hdf-converters/schemas/checklist/2.5).
  STIG Viewer refuses a CKL whose elements are out of the schema's order, so the order here is the
  schema's.

Only rows with a STIG ID (``references.stig``) are STIG rules; the collection's other controls are not
part of a STIG checklist.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import typing as t
import uuid
import xml.etree.ElementTree as ET

from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.module_utils import controls, reports

FORMATS = ("cklb", "ckl")

# Our status -> (CKL STATUS, CKLB status). A declared or accepted deviation is still a finding in STIG
# terms (the setting is not what the rule requires): Open, with the justification in the comments.
# A control the data did not cover was not reviewed.
STATUS_MAP = {
    controls.PASS: ("NotAFinding", "not_a_finding"),
    controls.FAIL: ("Open", "open"),
    controls.DEVIATION: ("Open", "open"),
    controls.NOT_APPLICABLE: ("Not_Applicable", "not_applicable"),
    controls.UNKNOWN: ("Not_Reviewed", "not_reviewed"),
}
# The first line of every rule's comments: our own status, which Open alone does not tell apart.
STATUS_MARK = "wsman.winrm status: "

# The STIG versions of the catalog (controls.STIGS) as DISA names them: the benchmark id of the
# XCCDF (STIG Viewer's "stigid"; SCAP content names the benchmark MS_Windows_Server_2022_STIG) and
# the benchmark's title.
STIG_BENCHMARKS = {
    "win10": ("MS_Windows_10_STIG", "Microsoft Windows 10 Security Technical Implementation Guide",
              "Microsoft Windows 10"),
    "ws2016": ("MS_Windows_Server_2016_STIG", "Microsoft Windows Server 2016 Security Technical Implementation Guide",
               "Microsoft Windows Server 2016"),
    "ws2019": ("MS_Windows_Server_2019_STIG", "Microsoft Windows Server 2019 Security Technical Implementation Guide",
               "Microsoft Windows Server 2019"),
    "ws2022": ("MS_Windows_Server_2022_STIG", "Microsoft Windows Server 2022 Security Technical Implementation Guide",
               "Microsoft Windows Server 2022"),
    "win11": ("MS_Windows_11_STIG", "Microsoft Windows 11 Security Technical Implementation Guide",
              "Microsoft Windows 11"),
    "ws2025": ("MS_Windows_Server_2025_STIG", "Microsoft Windows Server 2025 Security Technical Implementation Guide",
               "Microsoft Windows Server 2025"),
}

# STIG Viewer's target roles (the schema's ROLE enumeration) and Win32_ComputerSystem.DomainRole
# (Microsoft Learn, "Win32_ComputerSystem class": 0 standalone workstation, 1 member workstation,
# 2 standalone server, 3 member server, 4 backup and 5 primary domain controller). The Windows
# Server STIGs apply their member-server rules to standalone servers too.
ROLES = ("None", "Workstation", "Member Server", "Domain Controller")
DOMAIN_ROLES = {0: "Workstation", 1: "Workstation", 2: "Member Server", 3: "Member Server",
                4: "Domain Controller", 5: "Domain Controller"}
TARGET_KEYS = ("ip_address", "fqdn", "mac_address", "role", "domain_role", "comments", "ansible_host")

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/wsman/winrm/stig_checklist")


def stig_checklist(results: t.Any, format: str = "cklb",  # pylint: disable=redefined-builtin
                   targets: t.Mapping[str, t.Any] | None = None, release_info: str = "", version: str = "",
                   provenance: t.Mapping[str, t.Any] | None = None,
                   rule_ids: t.Mapping[str, t.Any] | None = None) -> dict[str, str]:
    """{host: control results} -> {host: checklist document (CKLB JSON text or CKL XML text)}."""
    if format not in FORMATS:
        raise AnsibleFilterError("wsman.winrm.stig_checklist: format must be one of %s, got %r"
                                 % (", ".join(FORMATS), format))
    if targets is not None and not isinstance(targets, t.Mapping):
        raise AnsibleFilterError("wsman.winrm.stig_checklist: targets must be {host: {ip_address, fqdn, role, ...}} "
                                 "(hostvars works too), got %s" % type(targets).__name__)
    for option, value in (("provenance", provenance), ("rule_ids", rule_ids)):
        if value is not None and not isinstance(value, t.Mapping):
            raise AnsibleFilterError("wsman.winrm.stig_checklist: %s must be a dict, got %s"
                                     % (option, type(value).__name__))
    try:
        hosts = reports.rows_by_host(results, "wsman.winrm.stig_checklist")
        stamp = dict(provenance or {})
        stamp.setdefault("generated", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        ids = _rule_ids(rule_ids or {})
        documents = {}
        for host in sorted(hosts):
            checklist = _Checklist(host, hosts[host], _target(host, (targets or {}).get(host)), release_info,
                                   version, stamp, ids)
            documents[host] = checklist.cklb() if format == "cklb" else checklist.ckl()
        return documents
    except reports.RowError as error:
        raise AnsibleFilterError(str(error)) from None
    except ValueError as error:
        raise AnsibleFilterError("wsman.winrm.stig_checklist: %s" % error) from None


def _rule_ids(given: t.Mapping[str, t.Any]) -> dict[str, tuple[str, str]]:
    """{STIG ID: (Vuln ID, Rule ID)} from the user's STIG release: {WN22-CC-000470: {vuln: V-..., rule: SV-..._rule}}."""
    ids = {}
    for stig_id, value in given.items():
        if not isinstance(value, t.Mapping) or not (value.get("vuln") or value.get("rule")):
            raise ValueError("rule_ids[%r] must be {vuln: V-..., rule: SV-..._rule} (the Vuln ID and Rule ID of "
                             "that STIG ID in your STIG release)" % (stig_id,))
        ids[str(stig_id).upper()] = (str(value.get("vuln") or ""), str(value.get("rule") or ""))
    return ids


def _target(host: str, given: t.Any) -> dict[str, str]:
    """Target data for one host from ``targets[host]`` (our keys, or the host's variables)."""
    given = given if isinstance(given, t.Mapping) else {}
    values = {key: given.get(key) for key in TARGET_KEYS if given.get(key) not in (None, "")}
    target = {"host_name": host, "ip_address": str(values.get("ip_address") or ""),
              "fqdn": str(values.get("fqdn") or ""), "mac_address": str(values.get("mac_address") or ""),
              "comments": reports.value_text(values.get("comments")), "role": "None"}
    address = str(values.get("ansible_host") or "")
    if address and not target["ip_address"]:
        try:
            target["ip_address"] = str(ipaddress.ip_address(address.strip("[]")))
        except ValueError:
            if "." in address and not target["fqdn"]:
                target["fqdn"] = address
    if "role" in values:
        role = {r.lower().replace(" ", "_"): r for r in ROLES}.get(str(values["role"]).strip().lower().replace(" ", "_"))
        if role is None:
            raise ValueError("targets[%r].role is %r; expected one of %s (or give domain_role, the number "
                             "Win32_ComputerSystem.DomainRole returns)" % (host, values["role"], ", ".join(ROLES)))
        target["role"] = role
    elif "domain_role" in values:
        try:
            target["role"] = DOMAIN_ROLES[int(values["domain_role"])]
        except (KeyError, TypeError, ValueError):
            raise ValueError("targets[%r].domain_role is %r; expected 0-5 (Win32_ComputerSystem.DomainRole)"
                             % (host, values["domain_role"])) from None
    return target


class _Checklist:
    """One host's STIG rules, rendered in either format."""

    def __init__(self, host: str, rows: list[t.Mapping[str, t.Any]], target: dict[str, str], release_info: str,
                 version: str, provenance: t.Mapping[str, t.Any], rule_ids: t.Mapping[str, tuple[str, str]]):
        self.host = host
        self.rows = [row for row in rows if reports.references(row).get("stig")]
        if not self.rows:
            raise ValueError("host %r: no control result carries a STIG ID (references.stig), so its checklist "
                             "would be empty; judge the host with wsman.winrm.compliance and a stig version" % host)
        versions = sorted({str(reports.references(row).get("stig_version") or "") for row in self.rows})
        if len(versions) != 1 or versions[0] not in STIG_BENCHMARKS:
            found = ", ".join(version or "no stig_version" for version in versions) or "none"
            raise ValueError("host %r: the STIG IDs come from %s; one checklist holds one STIG: judge all of a host's "
                             "controls with one stig version (%s)" % (host, found, ", ".join(STIG_BENCHMARKS)))
        self.stig = versions[0]
        self.stig_id, self.stig_title, self.display_name = STIG_BENCHMARKS[self.stig]
        self.target = target
        self.release_info = release_info
        self.version = version
        self.provenance = provenance
        self.rule_ids = rule_ids
        self.stig_uuid = str(uuid.uuid5(_UUID_NAMESPACE, "%s/%s" % (host, self.stig_id)))

    # -- the parts both formats share ------------------------------------------------------------

    def rule(self, row: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        refs = reports.references(row)
        # The Vuln and Rule IDs change with STIG releases: the user's release first, then the catalog's.
        vuln, rule_src = self.rule_ids.get(str(refs["stig"]).upper(), ("", ""))
        vuln = vuln or str(refs.get("stig_vuln") or "")
        rule_src = rule_src or str(refs.get("stig_rule") or "")
        settings = [str(item.get("setting")) for item in row.get("evidence") or [] if isinstance(item, t.Mapping)]
        return {
            "vuln": vuln,
            "rule_src": rule_src,
            "rule": rule_src[:-len("_rule")] if rule_src.endswith("_rule") else rule_src,
            "version": str(refs["stig"]),
            "title": str(row.get("title") or row["id"]),
            "severity": reports.stig_severity(row),
            "discussion": reports.value_text(row.get("description")),
            "check": "Read over WS-Management by wsman.winrm (control %s): %s. Expected: %s."
                     % (row["id"], ", ".join(settings) or "the WinRM configuration",
                        reports.value_text(row.get("expected"))),
            "fix": reports.value_text(row.get("fix")),
            "details": reports.finding_text(row),
            "comments": self.comments(row),
            "uuid": str(uuid.uuid5(_UUID_NAMESPACE, "%s/%s/%s" % (self.host, self.stig_id, refs["stig"]))),
        }

    def comments(self, row: t.Mapping[str, t.Any]) -> str:
        lines = [STATUS_MARK + row["status"]]
        if row["status"] == controls.DEVIATION:
            lines.append("Deviation: %s" % (reports.value_text(row.get("reason")) or "no reason given"))
        lines += ["%s: %s" % (key, reports.value_text(value)) for key, value in self.provenance.items()]
        return "\n".join(lines)

    def stig_ref(self) -> str:
        return "%s :: Version %s, %s" % (self.stig_title, self.version or "-", self.release_info or "Release: -")

    # -- STIG Viewer 3 ---------------------------------------------------------------------------

    def cklb(self) -> str:
        rules = []
        for row in self.rows:
            rule = self.rule(row)
            rules.append({
                "group_id_src": rule["vuln"],
                "group_tree": [{"id": rule["vuln"], "title": rule["title"], "description": ""}],
                "group_id": rule["vuln"],
                "severity": rule["severity"],
                "group_title": rule["title"],
                "rule_id_src": rule["rule_src"],
                "rule_id": rule["rule"],
                "rule_version": rule["version"],
                "rule_title": rule["title"],
                "fix_text": rule["fix"],
                "weight": "10.0",
                "check_content": rule["check"],
                "check_content_ref": {"href": "", "name": "M"},
                "classification": "Unclassified",
                "discussion": rule["discussion"],
                "false_positives": "", "false_negatives": "", "documentable": "false",
                "security_override_guidance": "", "potential_impacts": "", "third_party_tools": "",
                "ia_controls": "", "responsibility": "", "mitigations": "", "mitigation_control": "",
                "legacy_ids": [],
                "ccis": [],
                "reference_identifier": "",
                "uuid": rule["uuid"],
                "stig_uuid": self.stig_uuid,
                "status": STATUS_MAP[row["status"]][1],
                "overrides": {},
                "comments": rule["comments"],
                "finding_details": rule["details"],
            })
        document = {
            "title": "%s - %s" % (self.host, self.display_name),
            "id": str(uuid.uuid5(_UUID_NAMESPACE, "%s/checklist" % self.host)),
            "stigs": [{
                "stig_name": self.stig_title,
                "display_name": self.display_name,
                "stig_id": self.stig_id,
                "release_info": self.release_info,
                "version": self.version,
                "uuid": self.stig_uuid,
                "reference_identifier": "",
                "size": len(rules),
                "rules": rules,
            }],
            "active": True,
            "mode": 2,
            "has_path": False,
            "target_data": {
                "target_type": "Computing",
                "host_name": self.target["host_name"],
                "ip_address": self.target["ip_address"],
                "mac_address": self.target["mac_address"],
                "fqdn": self.target["fqdn"],
                "comments": self.target["comments"],
                "role": self.target["role"],
                "is_web_database": False,
                "technology_area": "Windows OS",
                "web_db_site": "",
                "web_db_instance": "",
                "classification": None,
            },
            "cklb_version": "1.0",
        }
        return json.dumps(document, indent=2, ensure_ascii=False)

    # -- STIG Viewer 2.x -------------------------------------------------------------------------

    def ckl(self) -> str:
        root = ET.Element("CHECKLIST")
        asset = ET.SubElement(root, "ASSET")
        for name, value in (("ROLE", self.target["role"]), ("ASSET_TYPE", "Computing"),
                            ("HOST_NAME", self.target["host_name"]), ("HOST_IP", self.target["ip_address"]),
                            ("HOST_MAC", self.target["mac_address"]), ("HOST_FQDN", self.target["fqdn"]),
                            ("TARGET_COMMENT", self.target["comments"]), ("TECH_AREA", "Windows OS"),
                            ("TARGET_KEY", ""), ("WEB_OR_DATABASE", "false"), ("WEB_DB_SITE", ""),
                            ("WEB_DB_INSTANCE", "")):
            _text_element(asset, name, value)
        istig = ET.SubElement(ET.SubElement(root, "STIGS"), "iSTIG")
        info = ET.SubElement(istig, "STIG_INFO")
        for name, value in (("version", self.version), ("classification", "UNCLASSIFIED"), ("customname", ""),
                            ("stigid", self.stig_id), ("description", ""), ("filename", ""),
                            ("releaseinfo", self.release_info), ("title", self.stig_title),
                            ("uuid", self.stig_uuid), ("notice", ""), ("source", "")):
            si_data = ET.SubElement(info, "SI_DATA")
            _text_element(si_data, "SID_NAME", name)
            if value:
                _text_element(si_data, "SID_DATA", value)
        for row in self.rows:
            rule = self.rule(row)
            vuln = ET.SubElement(istig, "VULN")
            for attribute, value in (
                    ("Vuln_Num", rule["vuln"]), ("Severity", rule["severity"]), ("Group_Title", rule["title"]),
                    ("Rule_ID", rule["rule_src"]), ("Rule_Ver", rule["version"]), ("Rule_Title", rule["title"]),
                    ("Vuln_Discuss", rule["discussion"]), ("IA_Controls", ""), ("Check_Content", rule["check"]),
                    ("Fix_Text", rule["fix"]), ("False_Positives", ""), ("False_Negatives", ""),
                    ("Documentable", "false"), ("Mitigations", ""), ("Potential_Impact", ""),
                    ("Third_Party_Tools", ""), ("Mitigation_Control", ""), ("Responsibility", ""),
                    ("Security_Override_Guidance", ""), ("Check_Content_Ref", "M"), ("Weight", "10.0"),
                    ("Class", "Unclass"), ("STIGRef", self.stig_ref()), ("TargetKey", ""),
                    ("STIG_UUID", self.stig_uuid)):
                stig_data = ET.SubElement(vuln, "STIG_DATA")
                _text_element(stig_data, "VULN_ATTRIBUTE", attribute)
                _text_element(stig_data, "ATTRIBUTE_DATA", value)
            for name, value in (("STATUS", STATUS_MAP[row["status"]][0]), ("FINDING_DETAILS", rule["details"]),
                                ("COMMENTS", rule["comments"]), ("SEVERITY_OVERRIDE", ""),
                                ("SEVERITY_JUSTIFICATION", "")):
                _text_element(vuln, name, value)
        ET.indent(root, space="\t")
        # STIG Viewer writes empty elements as start and end tags; so does this.
        body = ET.tostring(root, encoding="unicode", short_empty_elements=False)
        return '<?xml version="1.0" encoding="UTF-8"?>\n<!--wsman.winrm stig_checklist-->\n' + body + "\n"


def _text_element(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, name)
    element.text = reports.xml_safe(text)
    return element


class FilterModule:
    """wsman.winrm STIG Viewer checklist export."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"stig_checklist": stig_checklist}
