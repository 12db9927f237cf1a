# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.cert_mapping: one CertMapping entry (winrm/config/service/certmapping).

One Enumerate of the mappings, then at most one Create (+ one Get to return what Windows
stored), one Put or one Delete. The mapped account's password is write-only: it goes into the
Create/Put body and nowhere else (not the result, the diff, a warning or an error text).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManError, scrub
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import ChangeRefused, WSManAction

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


class ActionModule(WSManAction):
    argument_spec = argspecs.CERT_MAPPING["argument_spec"]

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        password = args.get("password")
        try:
            return self._converge(session, args)
        except WSManError as error:
            # Windows' texts never echo the password; scrub anyway, so no path can carry it out.
            error.message = scrub(error.message, [password])
            error.hint = scrub(error.hint, [password])
            raise

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

        result: dict[str, t.Any] = {"password_updated": False}
        before = existing.to_dict() if existing is not None else {}
        check = self._task.check_mode

        if state == "absent":
            after_view: dict[str, t.Any] = {}
            if existing is not None:
                self._guard(session, existing, "delete", args["force"], result)
                if not check:
                    session.delete(resources.CERTMAPPING_URI, existing.selectors)
            return self._finish(result, existing is not None, before, after_view, None)

        if existing is None:
            predicted = resources.CertMapping(dict(uri=uri, subject=subject, issuer=issuer, user_name=username,
                                                   enabled=args["enabled"]))
            after = predicted
            if not check:
                session.create(resources.CERTMAPPING_URI,
                               resources.CertMapping.create_body(username, password, args["enabled"]),
                               resources.certmapping_selectors(uri, subject, issuer))
                # What Windows stored (it canonicalises the account name, e.g. the case).
                after = resources.CertMapping.from_xml(session.get(resources.CERTMAPPING_URI, predicted.selectors))
            result["password_updated"] = True
            return self._finish(result, True, before, after.to_dict(), None)

        desired = {"enabled": args["enabled"], "user_name": username}
        changes = {path: change["after"] for path, change in resources.diff(existing, desired)["changes"].items()}
        send_password = password is not None and ("user_name" in changes or args["update_password"] == "always")
        if changes.get("enabled") is False:
            self._guard(session, existing, "disable", args["force"], result)
        if not changes and not send_password:
            return self._finish(result, False, before, before, None)
        after = existing.updated(changes)
        if not check:
            body = existing.render_put(changes, password=password if send_password else None)
            after = resources.CertMapping.from_xml(session.put(resources.CERTMAPPING_URI, body, existing.selectors))
        result["password_updated"] = send_password
        return self._finish(result, True, before, after.to_dict(), send_password)

    def _guard(self, session, mapping: resources.CertMapping, action: str, force: bool,
               result: dict[str, t.Any]) -> None:
        reason = lockout_reason(session.endpoint, mapping)
        if reason is None:
            return
        if not force:
            raise ChangeRefused(
                "Refusing to %s this CertMapping: %s, so the next request would get HTTP 401. Connect with "
                "another auth method (or another mapping) first, or set force: true if you have another way "
                "back in." % (action, reason))
        result.setdefault("warnings", []).append(
            "force: true: %s the CertMapping this task's connection uses: %s" % (action, reason))

    def _finish(self, result: dict[str, t.Any], changed: bool, before: dict[str, t.Any], after: dict[str, t.Any],
                password_sent: bool | None) -> dict[str, t.Any]:
        result.update(changed=changed, before=before, cert_mapping=after)
        if self._task.diff:
            diff_before, diff_after = dict(before), dict(after)
            if password_sent and before:
                # The password cannot be compared: say it was sent, never what it is.
                diff_before["password"], diff_after["password"] = PASSWORD_NOT_READABLE, PASSWORD_SENT
            header = "certmapping %s" % ", ".join("%s=%s" % (k, (after or before).get(k.lower()))
                                                  for k in ("URI", "Subject", "Issuer"))
            result["diff"] = {"before": diff_before, "after": diff_after,
                              "before_header": header, "after_header": header}
        return result
