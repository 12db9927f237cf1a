# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.cert_mapping: one CertMapping entry (winrm/config/service/certmapping).

One Enumerate of the mappings, then at most one Create (+ one Get to return what Windows
stored), one Put or one Delete, planned and sent through the change pipeline. The mapped account's password is write-only: it goes into the
Create/Put body and nowhere else (not the result, the diff, a warning or an error text).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, plan, resources
from ansible_collections.wsman.winrm.plugins.module_utils.config import delete_instance, read_instance
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManError, scrub
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

# Windows' limits (wsman_error_codes.md 0x80338160-0x8033816C, the texts of the faults).
MAX_KEY_LENGTH = 1023
MAX_PASSWORD_LENGTH = 255
# certmgr's "Thumbprint" field is copied with spaces and often a leading invisible mark (U+200E).
_THUMBPRINT_NOISE = re.compile(r"[\s:\u200e\u200f\ufeff]")

PASSWORD_NOT_READABLE = "(stored by Windows, never returned)"
PASSWORD_SENT = "(new password sent)"


def normalize_issuer(issuer: str) -> str:
    return _THUMBPRINT_NOISE.sub("", issuer or "").upper()


def key_errors(uri: str, subject: str, issuer: str) -> list[str]:
    """Windows' rules for the three keys, checked before anything is sent."""
    errors = []
    if not uri:
        errors.append("uri must not be empty (a resource URI prefix such as '*' or "
                      "'http://schemas.microsoft.com/wbem/wsman/1/*')")
    else:
        if re.search(r"\s", uri):
            errors.append("uri must not contain whitespace")
        if "?" in uri:
            errors.append("uri must not contain '?'")
        if uri.count("*") > 1 or ("*" in uri and not uri.endswith("*")):
            errors.append("uri may contain one '*', only as its last character (a prefix match)")
        if len(uri) > MAX_KEY_LENGTH:
            errors.append("uri must be at most %d characters, got %d" % (MAX_KEY_LENGTH, len(uri)))
    if not subject:
        errors.append("subject must not be empty (the certificate's subject name, e.g. "
                      "'ansible@example.com', or '*.example.com')")
    else:
        if subject.count("*") > 1 or ("*" in subject and not subject.startswith("*")):
            errors.append("subject may contain one '*', only as its first character ('*' alone matches every subject)")
        if len(subject) > MAX_KEY_LENGTH:
            errors.append("subject must be at most %d characters, got %d" % (MAX_KEY_LENGTH, len(subject)))
    if not re.fullmatch(r"[0-9A-F]{40}", normalize_issuer(issuer)):
        errors.append("issuer must be the 40-hex-digit SHA-1 thumbprint of the CA that signed the client "
                      "certificate (a CA in the host's Trusted Root or Intermediate store), got %d characters"
                      % len(normalize_issuer(issuer)))
    return errors


def credential_errors(username: str | None, password: str | None) -> list[str]:
    """The password is not blank and at most 255 characters; a given username is not empty.

    Messages never quote the password.
    """
    errors = []
    if password is not None:
        if password == "":
            errors.append("password must not be blank: Windows refuses a mapping to an account without a password")
        elif len(password) > MAX_PASSWORD_LENGTH:
            errors.append("password must be at most %d characters, got %d" % (MAX_PASSWORD_LENGTH, len(password)))
    if username is not None and not username.strip():
        errors.append("username must not be empty")
    return errors


def pairing_errors(username: str | None, password: str | None, existing: resources.CertMapping | None) -> list[str]:
    """UserName and Password go together: a new mapping needs both, a new account name its password."""
    errors = []
    if existing is None:
        missing = [name for name, value in (("username", username), ("password", password)) if value is None]
        if missing:
            errors.append("creating a mapping needs username and password together (the local account the "
                          "certificate logs on as, and its password): %s missing" % " and ".join(missing))
    elif username is not None and password is None \
            and (existing.get("user_name") or "").lower() != username.strip().lower():
        errors.append("changing username from %r to %r needs password too: Windows checks the new account's "
                      "password and stores it with the name" % (existing.get("user_name"), username))
    return errors


def certificate_names(cert_path: str | None) -> list[str] | None:
    """The names Windows matches a CertMapping Subject against (CN, UPN and e-mail SANs) of the
    client certificate this connection presents; None when it cannot be read."""
    if not cert_path:
        return None
    try:
        from cryptography import x509
        from cryptography.x509.oid import ExtensionOID, NameOID

        with open(cert_path, "rb") as handle:
            data = handle.read()
        cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    # An unreadable certificate means "assume it may match".
    except Exception:  # pylint: disable=broad-except
        return None
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return names
    upn = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")  # szOID_NT_PRINCIPAL_NAME
    names.extend(_der_utf8_string(other.value) for other in san.get_values_for_type(x509.OtherName)
                 if other.type_id == upn)
    names.extend(san.get_values_for_type(x509.RFC822Name))
    return [name for name in names if name]


def _der_utf8_string(value: bytes) -> str:
    """The text of a DER UTF8String (the UPN otherName's value); "" for anything else."""
    if len(value) < 2 or value[0] != 0x0C:
        return ""
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(value[2:2 + count], "big"), 2 + count
    return value[offset:offset + length].decode("utf-8", "replace")


def subject_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower(), name.lower()
    return name.endswith(pattern[1:]) if pattern.startswith("*") else pattern == name


def lockout_reason(endpoint: t.Any, mapping: resources.CertMapping) -> str | None:
    """Why removing or disabling this mapping would cut this task's own connection, if it would."""
    if endpoint.auth != "certificate" or not mapping.get("enabled", True):
        return None
    pattern = (mapping.get("uri") or "").lower()
    # The resources this module (and the modules after it) request: the mapping table, winrm/config.
    in_use = (resources.CERTMAPPING_URI.lower(), resources.CONFIG_URI.lower())
    if not any(uri.startswith(pattern[:-1]) if pattern.endswith("*") else uri == pattern for uri in in_use):
        return None
    names = certificate_names(endpoint.client_cert_pem)
    if names is None:
        return ("this task authenticates with a client certificate it cannot read, which this mapping "
                "(subject %r) may be what maps" % mapping.get("subject"))
    matching = [name for name in names if subject_matches(mapping.get("subject") or "", name)]
    if not matching:
        return None
    return ("this task authenticates with the client certificate %s, which this mapping (subject %r, "
            "issuer %s) maps to an account" % (matching[0], mapping.get("subject"), mapping.get("issuer")))


def _read(session, selectors: t.Mapping[str, str]) -> resources.CertMapping | None:
    return t.cast("resources.CertMapping | None", read_instance(session, resources.CertMapping, selectors))


def _holds(mapping: resources.CertMapping | None, values: t.Mapping[str, t.Any]) -> bool:
    return mapping is not None and all(resources.CertMapping.field(k).same(mapping.get(k), v) for k, v in values.items())


def plan_mapping(session, existing: resources.CertMapping | None, uri: str, subject: str, issuer: str,
                 args: t.Mapping[str, t.Any]) -> tuple[plan.Plan, bool]:
    """At most one Create (+ a Get of what Windows stored), one Put or one Delete, with its undo;
    and whether it sends the password."""
    username, password, state = args.get("username"), args.get("password"), args["state"]
    if username is not None:
        username = username.strip()
    selectors = resources.certmapping_selectors(uri, subject, issuer)
    header = "certmapping URI=%s, Subject=%s, Issuer=%s" % (uri, subject, issuer)
    before = existing.to_dict() if existing is not None else {}
    change = plan.Plan(before=before, after=before, header=header)
    step = "certmapping " + subject
    if state == "absent":
        if existing is not None:
            change.after = {}
            reason = lockout_reason(session.endpoint, existing)
            change.refusals.append(plan.lockout(["deleting this CertMapping: %s" % reason] if reason else []))
            change.add(plan.Step(
                step, ["certmapping"], lambda: session.delete(resources.CERTMAPPING_URI, existing.selectors),
                applied=lambda: _read(session, existing.selectors) is None,
                cannot_undo="Windows never returns the mapped account's password, so a deleted mapping cannot be "
                            "re-created without it"))
        return change, False
    if existing is None:
        predicted = resources.CertMapping(dict(uri=uri, subject=subject, issuer=issuer, user_name=username,
                                               enabled=args["enabled"]))
        change.after = predicted.to_dict()

        def create() -> resources.CertMapping:
            session.create(resources.CERTMAPPING_URI, resources.CertMapping.create_body(username, password,
                                                                                        args["enabled"]), selectors)
            # What Windows stored (it canonicalises the account name, e.g. the case).
            return resources.CertMapping.from_xml(session.get(resources.CERTMAPPING_URI, predicted.selectors))

        change.add(plan.Step(step, ["certmapping"], create,
                             lambda: delete_instance(session, resources.CertMapping, selectors),
                             applied=lambda: _read(session, selectors) is not None))
        change.finish = lambda answers: answers[step].to_dict()
        return change, True
    desired = {"enabled": args["enabled"], "user_name": username}
    changes = {path: item["after"] for path, item in resources.diff(existing, desired)["changes"].items()}
    send_password = password is not None and ("user_name" in changes or args["update_password"] == "always")
    if changes.get("enabled") is False:
        reason = lockout_reason(session.endpoint, existing)
        change.refusals.append(plan.lockout(["disabling this CertMapping: %s" % reason] if reason else []))
    if not changes and not send_password:
        return change, False
    change.after = existing.updated(changes).to_dict()
    body = existing.render_put(changes, password=password if send_password else None)
    restore = {"enabled": existing.get("enabled")} if set(changes) == {"enabled"} and not send_password else None

    def put() -> resources.CertMapping:
        return resources.CertMapping.from_xml(session.put(resources.CERTMAPPING_URI, body, existing.selectors))

    labels = sorted(changes) + (["password"] if send_password else [])
    change.add(plan.Step(
        step, labels, put,
        undo=(lambda: session.put(resources.CERTMAPPING_URI, existing.render_put(restore), existing.selectors))
        if restore else None,
        applied=lambda: _holds(_read(session, existing.selectors), changes),
        cannot_undo="" if restore else "the password Windows stored before is never returned, so it cannot be put back"))
    change.finish = lambda answers: answers[step].to_dict()
    if send_password:
        # The password cannot be compared: the diff says it was sent, never what it is.
        change.diff = (dict(before, password=PASSWORD_NOT_READABLE), dict(change.after, password=PASSWORD_SENT))
    return change, send_password


class ActionModule(WSManAction):
    argument_spec = argspecs.CERT_MAPPING["argument_spec"]

    def manage(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        password = args.get("password")
        try:
            result = self._converge(session, args)
        except WSManError as error:
            # Windows' texts never echo the password; scrub anyway, so no path can carry it out.
            error.message = scrub(error.message, [password])
            error.hint = scrub(error.hint, [password])
            raise
        if result.get("msg"):
            result["msg"] = scrub(result["msg"], [password])
        return result

    def _converge(self, session, args: dict[str, t.Any]) -> dict[str, t.Any]:
        uri, subject = args["uri"].strip(), args["subject"].strip()
        issuer = normalize_issuer(args["issuer"])
        username, password, state = args.get("username"), args.get("password"), args["state"]
        if username is not None:
            username = username.strip()

        errors = key_errors(uri, subject, args["issuer"])
        if state == "present":
            errors += credential_errors(username, password)
        if errors:
            return dict(failed=True, msg="Invalid CertMapping: " + "; ".join(errors) + ". Nothing was sent.")

        snapshot = resources.read_all(session, parts={"cert_mappings"})
        existing = snapshot.find_cert_mapping(uri, subject, issuer)
        errors = pairing_errors(username, password, existing) if state == "present" else []
        if errors:
            return dict(failed=True, msg="Invalid CertMapping: " + "; ".join(errors) + ". Nothing was sent.")

        change, password_sent = plan_mapping(session, existing, uri, subject, issuer, args)
        result = self.apply_plan(change, args, {"password_updated": False})
        result["cert_mapping"] = result.pop("after")
        result["password_updated"] = password_sent and not result.get("failed")
        return result
