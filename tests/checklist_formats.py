"""The two DISA STIG Viewer checklist formats, as checks the tests run on the collection's exports,
against the published files kept in tests/fixtures/checklists/ (their sources and licences: the
README there).

CKL (STIG Viewer 2.x, XML): validated with ``xmlschema`` against DISA's U_Checklist_Schema_V2.xsd,
schema version 2.5 (2021-11-05), the file STIG Viewer ships inside its jar, as published unaltered at
https://github.com/mitre/heimdall2/blob/master/libs/hdf-converters/schemas/checklist/2.5/U_Checklist_Schema_V2.xsd.

CKLB (STIG Viewer 3, JSON; no schema is published): the keys and JSON types of every object must be
those of a checklist saved by STIG Viewer 3, NoClassifications.cklb from the STIG Manager project's
parser tests (https://github.com/NUWCDIVNPT/stig-manager-client-modules, test-files/parsers/cklb/);
a null there admits a string. The values the sample cannot show are checked from the other published
sources: the statuses STIG Viewer 3 writes (all-possible-results.cklb in the same folder), the roles
(the ROLE enumeration of the CKL schema), UUIDs, and ``size`` = the number of rules.

The readers give back, per STIG ID (Rule_Ver / rule_version), the status in the collection's words:
NotAFinding -> pass, Open -> fail (deviation where the comments say so), Not_Applicable ->
not_applicable, Not_Reviewed -> unknown.
"""

from __future__ import annotations

import functools
import json
import os
import re
import typing as t
import xml.etree.ElementTree as ET

import xmlschema

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "checklists")
CKL_SCHEMA_FILE = os.path.join(FIXTURES, "U_Checklist_Schema_V2.xsd")
CKLB_SAMPLE_FILE = os.path.join(FIXTURES, "NoClassifications.cklb")
MARK = re.compile(r"^wsman\.winrm status: (\w+)$", re.MULTILINE)

# -- CKL --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def ckl_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(CKL_SCHEMA_FILE)


def validate_ckl(element: ET.Element) -> None:
    """Raise AssertionError naming each place where the checklist breaks DISA's CKL schema."""
    errors = list(ckl_schema().iter_errors(element))
    assert not errors, "\n".join("%s: %s" % (error.path, error.reason) for error in errors[:20])


def ckl_statuses(root: ET.Element) -> dict[str, str]:
    statuses = {}
    for vuln in root.iter("VULN"):
        data = {d.findtext("VULN_ATTRIBUTE"): d.findtext("ATTRIBUTE_DATA") for d in vuln.iter("STIG_DATA")}
        statuses[data["Rule_Ver"]] = _ours(vuln.findtext("STATUS"), vuln.findtext("COMMENTS") or "")
    return statuses


# -- CKLB -------------------------------------------------------------------------------------------

# What STIG Viewer 3 writes as a rule's status (all-possible-results.cklb, see the README).
CKLB_STATUSES = ("not_a_finding", "open", "not_applicable", "not_reviewed")
CKLB_SEVERITIES = ("high", "medium", "low")
_UUID = re.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


@functools.lru_cache(maxsize=None)
def cklb_sample() -> dict[str, t.Any]:
    with open(CKLB_SAMPLE_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def ckl_roles() -> tuple[str, ...]:
    """The ROLE enumeration of the CKL schema (CKLB's target_data.role takes the same words)."""
    return tuple(ckl_schema().elements["ROLE"].type.enumeration)


def _shape_errors(sample: t.Any, value: t.Any, path: str) -> list[str]:
    """Where ``value`` does not have the keys and JSON types of ``sample``."""
    wanted, found = _JSON_TYPES[type(sample)], _JSON_TYPES.get(type(value), type(value).__name__)
    if wanted == "null":
        return [] if found in ("null", "string") else ["%s: %s, the sample has null (or a string)" % (path, found)]
    if wanted != found:
        return ["%s: %s, the sample has %s" % (path, found, wanted)]
    errors = []
    if isinstance(sample, dict) and sample:
        missing, extra = sorted(set(sample) - set(value)), sorted(set(value) - set(sample))
        if missing or extra:
            errors.append("%s: keys missing %s, keys STIG Viewer 3 does not write %s" % (path or "/", missing, extra))
        for key in sorted(set(sample) & set(value)):
            errors += _shape_errors(sample[key], value[key], "%s/%s" % (path, key))
    elif isinstance(sample, list) and sample:
        for index, item in enumerate(value):
            errors += _shape_errors(sample[0], item, "%s/%d" % (path, index))
    return errors


def validate_cklb(document: dict, whole: bool = True) -> None:
    """Raise AssertionError naming each place where the checklist differs from STIG Viewer 3's.
    ``whole``: every rule is in the file, so ``size`` counts them (the published sample is cut down to
    one rule of its STIG's 452 and keeps ``size`` 452)."""
    errors = _shape_errors(cklb_sample(), document, "")
    if not errors:
        sample = cklb_sample()
        if document["cklb_version"] != sample["cklb_version"]:
            errors.append("/cklb_version: %r, STIG Viewer 3 writes %r" % (document["cklb_version"], sample["cklb_version"]))
        if document["target_data"]["role"] not in ckl_roles():
            errors.append("/target_data/role: %r is not one of %s" % (document["target_data"]["role"], ckl_roles()))
        if not _UUID.match(document["id"]):
            errors.append("/id: %r is not a UUID" % document["id"])
        if not document["stigs"]:
            errors.append("/stigs: no STIG")
        for number, stig in enumerate(document["stigs"]):
            where = "/stigs/%d" % number
            if not _UUID.match(stig["uuid"]):
                errors.append("%s/uuid: %r is not a UUID" % (where, stig["uuid"]))
            if not stig["rules"] or (whole and stig["size"] != len(stig["rules"])):
                errors.append("%s/size: %s but %d rules" % (where, stig["size"], len(stig["rules"])))
            if {rule["stig_uuid"] for rule in stig["rules"]} != {stig["uuid"]}:
                errors.append("%s/rules: a rule's stig_uuid is not the STIG's uuid" % where)
            if len({rule["uuid"] for rule in stig["rules"]}) != len(stig["rules"]):
                errors.append("%s/rules: two rules share a uuid" % where)
            for index, rule in enumerate(stig["rules"]):
                for key, allowed in (("status", CKLB_STATUSES), ("severity", CKLB_SEVERITIES)):
                    if rule[key] not in allowed:
                        errors.append("%s/rules/%d/%s: %r is not one of %s" % (where, index, key, rule[key], allowed))
                if not _UUID.match(rule["uuid"]):
                    errors.append("%s/rules/%d/uuid: %r is not a UUID" % (where, index, rule["uuid"]))
    assert not errors, "\n".join(errors[:20])


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
