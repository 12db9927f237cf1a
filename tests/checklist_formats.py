"""The two DISA STIG Viewer checklist formats, as checks the tests run on the collection's exports.

CKL (STIG Viewer 2.x, XML): the structure of DISA's U_Checklist_Schema_V2.xsd, schema version 2.5
(2021-11-05), which STIG Viewer ships inside its jar; a copy is published at
https://github.com/mitre/heimdall2/blob/master/libs/hdf-converters/schemas/checklist/2.5/U_Checklist_Schema_V2.xsd.
Every element sequence, occurrence bound and enumeration of that schema is checked below.

CKLB (STIG Viewer 3, JSON): the properties of STIG Viewer 3's CKLB schema (``cklb_version`` "1.0";
its property list is published as TypeScript types at
https://github.com/mitre/heimdall2/blob/master/libs/hdf-converters/src/ckl-mapper/checklist-b-types.ts)
and checklists saved by STIG Viewer 3 (https://github.com/NUWCDIVNPT/stig-manager-client-modules,
test-files/parsers/cklb/NoClassifications.cklb), written here as a JSON Schema.

The readers give back, per STIG ID (Rule_Ver / rule_version), the status in the collection's words:
NotAFinding -> pass, Open -> fail (deviation where the comments say so), Not_Applicable ->
not_applicable, Not_Reviewed -> unknown.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import jsonschema

MARK = re.compile(r"^wsman\.winrm status: (\w+)$", re.MULTILINE)

# -- CKL --------------------------------------------------------------------------------------------

ROLES = ("None", "Workstation", "Member Server", "Domain Controller")
ASSET_TYPES = ("Computing", "Non-Computing")
TECH_AREAS = ("", "Application Review", "Boundary Security", "CDS Admin Review", "CDS Technical Review",
              "Database Review", "Domain Name System (DNS)", "Exchange Server", "Host Based System Security (HBSS)",
              "Internal Network", "Mobility", "Releasable Networks (REL)", "Releaseable Networks (REL)",
              "Traditional Security", "UNIX OS", "VVOIP Review", "Web Review", "Windows OS", "Other Review")
SID_NAMES = ("classification", "customname", "description", "filename", "notice", "releaseinfo", "source",
             "stigid", "title", "uuid", "version")
VULN_ATTRIBUTES = ("CCI_REF", "Check_Content", "Check_Content_Ref", "Class", "Documentable", "False_Negatives",
                   "False_Positives", "Fix_Text", "Group_Title", "IA_Controls", "Mitigation_Control", "Mitigations",
                   "Potential_Impact", "Responsibility", "Rule_ID", "Rule_Title", "Rule_Ver", "STIGRef",
                   "Security_Override_Guidance", "Severity", "Third_Party_Tools", "Vuln_Discuss", "Vuln_Num",
                   "Weight", "TargetKey", "STIG_UUID", "LEGACY_ID")
CKL_STATUSES = ("NotAFinding", "Open", "Not_Applicable", "Not_Reviewed")
SEVERITY_OVERRIDES = ("", "low", "medium", "high")
UNBOUNDED = None

# Element -> its content model: a sequence of (child, minOccurs, maxOccurs); leaves map to None.
SEQUENCES = {
    "CHECKLIST": [("ASSET", 1, 1), ("STIGS", 1, 1)],
    "ASSET": [("ROLE", 1, 1), ("ASSET_TYPE", 1, 1), ("MARKING", 0, 1), ("HOST_NAME", 1, 1), ("HOST_IP", 1, 1),
              ("HOST_MAC", 1, 1), ("HOST_GUID", 0, 1), ("HOST_FQDN", 1, 1), ("TARGET_COMMENT", 0, 1),
              ("TECH_AREA", 1, 1), ("TARGET_KEY", 1, 1), ("STIG_GUID", 0, 1), ("WEB_OR_DATABASE", 1, 1),
              ("WEB_DB_SITE", 1, 1), ("WEB_DB_INSTANCE", 1, 1)],
    "STIGS": [("iSTIG", 1, UNBOUNDED)],
    "iSTIG": [("STIG_INFO", 1, 1), ("VULN", 1, UNBOUNDED)],
    "STIG_INFO": [("SI_DATA", 1, UNBOUNDED)],
    "SI_DATA": [("SID_NAME", 1, 1), ("SID_DATA", 0, 1)],
    "VULN": [("STIG_DATA", 1, UNBOUNDED), ("STATUS", 1, 1), ("FINDING_DETAILS", 1, 1), ("COMMENTS", 1, 1),
             ("SEVERITY_OVERRIDE", 1, 1), ("SEVERITY_JUSTIFICATION", 1, 1)],
    "STIG_DATA": [("VULN_ATTRIBUTE", 1, 1), ("ATTRIBUTE_DATA", 1, 1)],
}
ENUMERATIONS = {"ROLE": ROLES, "ASSET_TYPE": ASSET_TYPES, "TECH_AREA": TECH_AREAS, "SID_NAME": SID_NAMES,
                "VULN_ATTRIBUTE": VULN_ATTRIBUTES, "STATUS": CKL_STATUSES, "SEVERITY_OVERRIDE": SEVERITY_OVERRIDES,
                "WEB_OR_DATABASE": ("true", "false", "1", "0")}


def validate_ckl(element: ET.Element, path: str = "") -> None:
    """Raise AssertionError naming the place where the element breaks the CKL schema."""
    path = path + "/" + element.tag
    if element.tag not in SEQUENCES:
        assert len(element) == 0, "%s: a text element has child elements" % path
        if element.tag in ENUMERATIONS:
            assert (element.text or "") in ENUMERATIONS[element.tag], "%s: %r is not one of %s" % (
                path, element.text, ENUMERATIONS[element.tag])
        return
    assert not (element.text or "").strip(), "%s: text outside the child elements" % path
    children = list(element)
    position = 0
    for name, low, high in SEQUENCES[element.tag]:
        count = 0
        while position < len(children) and children[position].tag == name and (high is None or count < high):
            count, position = count + 1, position + 1
        assert count >= low, "%s: expected %s at child %d, found %s" % (
            path, name, position, children[position].tag if position < len(children) else "the end")
    assert position == len(children), "%s: %s is not allowed at child %d (schema order: %s)" % (
        path, children[position].tag, position, [child for child, _low, _high in SEQUENCES[element.tag]])
    for child in children:
        validate_ckl(child, path)


def ckl_statuses(root: ET.Element) -> dict[str, str]:
    statuses = {}
    for vuln in root.iter("VULN"):
        data = {d.findtext("VULN_ATTRIBUTE"): d.findtext("ATTRIBUTE_DATA") for d in vuln.iter("STIG_DATA")}
        statuses[data["Rule_Ver"]] = _ours(vuln.findtext("STATUS"), vuln.findtext("COMMENTS") or "")
    return statuses


# -- CKLB -------------------------------------------------------------------------------------------

CKLB_STATUSES = ("not_a_finding", "open", "not_applicable", "not_reviewed")
_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_STR = {"type": "string"}


def _object(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": sorted(required), "additionalProperties": False,
            "properties": dict(required, **(optional or {}))}


CKLB_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "target_data": _object({
            "target_type": {"enum": ["Computing", "Non-Computing"]}, "host_name": _STR, "ip_address": _STR,
            "mac_address": _STR, "fqdn": _STR, "comments": _STR, "role": {"enum": list(ROLES)},
            "is_web_database": {"type": "boolean"}, "technology_area": _STR, "web_db_site": _STR,
            "web_db_instance": _STR, "classification": {"type": ["string", "null"]}}),
        "stig": _object({
            "stig_name": _STR, "display_name": _STR, "stig_id": _STR, "release_info": _STR, "version": _STR,
            "uuid": {"type": "string", "pattern": _UUID}, "reference_identifier": {"type": ["string", "integer"]},
            "size": {"type": "integer", "minimum": 1},
            "rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/stig_rule"}}}),
        "stig_rule": _object({
            "uuid": {"type": "string", "pattern": _UUID}, "stig_uuid": {"type": "string", "pattern": _UUID},
            "group_id": _STR, "group_id_src": _STR, "rule_id": _STR, "rule_id_src": _STR, "weight": _STR,
            "classification": _STR, "severity": {"enum": ["high", "medium", "low"]}, "rule_version": _STR,
            "rule_title": _STR, "fix_text": _STR, "reference_identifier": {"type": ["string", "integer"]},
            "group_title": _STR, "false_positives": _STR, "false_negatives": _STR, "discussion": _STR,
            "check_content": _STR, "documentable": {"enum": ["true", "false"]}, "mitigations": _STR,
            "potential_impacts": _STR, "third_party_tools": _STR, "mitigation_control": _STR, "responsibility": _STR,
            "security_override_guidance": _STR, "ia_controls": _STR,
            "check_content_ref": _object({"name": _STR, "href": _STR}),
            "legacy_ids": {"type": "array", "items": _STR}, "ccis": {"type": "array", "items": _STR},
            "group_tree": {"type": "array", "items": _object({"id": _STR, "title": _STR, "description": _STR})},
            "status": {"enum": list(CKLB_STATUSES)},
            "overrides": {"type": "object", "additionalProperties": {"type": "object"}},
            "comments": _STR, "finding_details": _STR,
        }, {"target_key": {"type": ["string", "null"]}, "stig_ref": {"type": ["string", "null"]},
            "createdAt": _STR, "updatedAt": _STR, "STIGUuid": _STR}),
    },
    **_object({
        "title": _STR, "id": {"type": "string", "pattern": _UUID}, "active": {"type": "boolean"},
        "mode": {"type": "integer"}, "has_path": {"type": "boolean"}, "cklb_version": {"const": "1.0"},
        "target_data": {"$ref": "#/$defs/target_data"},
        "stigs": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/stig"}}}),
}


def validate_cklb(document: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(CKLB_SCHEMA)
    errors = sorted(jsonschema.Draft202012Validator(CKLB_SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join("%s: %s" % ("/".join(map(str, e.path)), e.message) for e in errors[:20])
    for stig in document["stigs"]:
        assert stig["size"] == len(stig["rules"]), "size %s but %d rules" % (stig["size"], len(stig["rules"]))
        assert {rule["stig_uuid"] for rule in stig["rules"]} == {stig["uuid"]}
        assert len({rule["uuid"] for rule in stig["rules"]}) == len(stig["rules"])


def cklb_statuses(document: dict) -> dict[str, str]:
    return {rule["rule_version"]: _ours(rule["status"], rule["comments"])
            for stig in document["stigs"] for rule in stig["rules"]}


# -- both -------------------------------------------------------------------------------------------

_OURS = {"NotAFinding": "pass", "not_a_finding": "pass", "Open": "fail", "open": "fail",
         "Not_Applicable": "not_applicable", "not_applicable": "not_applicable",
         "Not_Reviewed": "unknown", "not_reviewed": "unknown"}


def _ours(stig_status: str, comments: str) -> str:
    status = _OURS[stig_status]
    marked = MARK.search(comments)
    if marked and marked.group(1) == "deviation":
        assert status == "fail", "a deviation must be Open, not %s" % stig_status
        return "deviation"
    assert marked is None or marked.group(1) == status, "comments say %s, status says %s" % (marked.group(1), stig_status)
    return status
