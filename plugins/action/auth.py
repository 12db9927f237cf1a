# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.auth: the authentication switches of the WinRM service or client (winrm/config/*/auth)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction

SWITCHES = ("basic", "digest", "kerberos", "negotiate", "certificate", "credssp")

# Why turning a switch on (or CBT to None) weakens the host; security-controls.md.
INSECURE = {
    ("service", "basic"): "service Basic authentication sends credentials base64-encoded; STIG WN22-CC-000500 "
                          "(WN19-CC-000500, WN16-CC-000530, WN10-CC-000345) and CIS 18.10.89.2.1 require it off",
    ("client", "basic"): "client Basic authentication sends credentials base64-encoded; STIG WN22-CC-000470 "
                         "(WN16-CC-000500, WN10-CC-000330) and CIS 18.10.89.1.1 require it off",
    ("client", "digest"): "client Digest authentication; STIG WN22-CC-000490 (WN16-CC-000520, WN10-CC-000360) "
                          "and CIS 18.10.89.1.3 require it off",
    ("service", "credssp"): "service CredSSP delegates the user's credentials to this host; the secure baseline "
                            "keeps CredSSP off on both sides",
    ("client", "credssp"): "client CredSSP hands the user's credentials to the remote host; the secure baseline "
                           "keeps CredSSP off on both sides",
}
CBT_NONE_WARNING = ("service CbtHardeningLevel None ignores channel binding tokens and leaves NTLM over HTTPS open "
                    "to relay; the secure baseline is Strict with HTTPS (Relaxed at least)")


def desired_auth(args: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The dotted-path desired state for the scope; a clear error for what the scope cannot take."""
    scope = args["scope"]
    if scope == "service" and args.get("digest") is not None:
        raise AnsibleActionFail(
            "digest: the WinRM service has no Digest authentication (Windows accepts Digest only on the client "
            "and rejects service/auth/Digest with schema fault 2150858817); remove digest or use scope: client")
    level = args.get("cbt_hardening_level")
    if level is not None:
        if scope == "client":
            raise AnsibleActionFail(
                "cbt_hardening_level: channel binding hardening is a service setting (service/auth/CbtHardeningLevel); "
                "the client has none. Use scope: service")
        if level.strip().lower() not in argspecs.CBT_HARDENING_LEVELS:
            raise AnsibleActionFail(
                f"cbt_hardening_level must be one of none, relaxed, strict (any case), got {level!r}")
    desired = {f"{scope}.auth.{name}": args.get(name) for name in SWITCHES if args.get(name) is not None}
    if level is not None:
        desired[f"{scope}.auth.cbt_hardening_level"] = level.strip()
    return desired


def security_warnings(scope: str, args: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any]) -> list[str]:
    """Warnings for the insecure values this task asks for and that are in effect afterwards."""
    warnings = []
    for (warn_scope, name), why in INSECURE.items():
        if warn_scope == scope and args.get(name) is True and after.get(name) is True:
            warnings.append(f"{name}: true: {why}.")
    level = args.get("cbt_hardening_level")
    if scope == "service" and level and level.strip().lower() == "none" and after.get("cbt_hardening_level") == "None":
        warnings.append(f"cbt_hardening_level: None: {CBT_NONE_WARNING}.")
    return warnings


class ActionModule(WSManAction):
    argument_spec = argspecs.AUTH["argument_spec"]

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        scope = args["scope"]
        desired = desired_auth(args)  # before anything is sent
        snapshot = resources.read_all(session, parts={"config", "listeners"})
        result = self.converge_config(session, snapshot, desired, args, f"{scope}.auth")
        result["auth"] = result.pop("after")
        result.setdefault("policy_skipped", [])
        result.setdefault("warnings", []).extend(security_warnings(scope, args, result["auth"]))
        if not result["warnings"]:
            del result["warnings"]
        return result
