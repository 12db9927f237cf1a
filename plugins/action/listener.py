# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsman.winrm.listener: one WinRM listener (winrm/config/listener), keyed by Address and Transport.

Windows changes every listener setting but the keys in place (MS-WSMV 3.1.4.1.29.5: Port,
Hostname, Enabled, URLPrefix and CertificateThumbprint are Put-able; Address and Transport are the
selectors), and the keys are what this task addresses. So a listener is created (Create), changed
(one partial Put, which Windows validates whole before applying: a refused Put leaves the listener
as it was) or deleted (Delete); it is never replaced, and ``replaced`` is always false.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import ChangeRefused, WSManAction

# Seed 000: the compatibility listeners are on the WinRM 1.1 ports.
COMPATIBILITY_PORTS = {"HTTP": 80, "HTTPS": 443}
COMPATIBILITY_SETTINGS = {"HTTP": "EnableCompatibilityHttpListener", "HTTPS": "EnableCompatibilityHttpsListener"}
# MS-WSMV 2.2.4.19: "only the characters a-zA-Z9-0_/ and it MUST NOT start with or end with '/'".
URL_PREFIX = re.compile(r"[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*\Z")
MAC_ADDRESS = re.compile(r"[0-9A-Fa-f]{2}([-:])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}\Z")
THUMBPRINT = re.compile(r"[0-9A-F]{40}\Z")
# Copied from the certificate dialog, a thumbprint carries spaces and often an invisible
# left-to-right mark; Windows' own tools strip neither, which is a classic cause of "not found".
THUMBPRINT_NOISE = re.compile(r"[\s:\u200e\u200f\ufeff]")
MANAGED = ("port", "hostname", "enabled", "url_prefix", "certificate_thumbprint")


# ---- input -------------------------------------------------------------------------------------

def normalize_address(text: str) -> str:
    """``*``, ``IP:<v4 or v6>`` (brackets dropped) or ``MAC:<AA-BB-CC-DD-EE-FF>``; ValueError otherwise."""
    value = (text or "").strip()
    if value == "*":
        return "*"
    kind, separator, rest = value.partition(":")
    rest = rest.strip()
    if separator and kind.upper() == "IP":
        if rest.startswith("[") and rest.endswith("]"):
            rest = rest[1:-1]
        try:
            ipaddress.ip_address(rest)
        except ValueError:
            raise ValueError(f"address: {rest!r} is not an IPv4 or IPv6 address (address IP:<address>)") from None
        return "IP:" + rest
    if separator and kind.upper() == "MAC":
        if not MAC_ADDRESS.match(rest):
            raise ValueError(f"address: {rest!r} is not a MAC address; write it as MAC:aa-bb-cc-dd-ee-ff")
        return "MAC:" + rest.upper().replace(":", "-")
    raise ValueError(f"address must be '*', 'IP:<IPv4 or IPv6 address>' or 'MAC:<aa-bb-cc-dd-ee-ff>', got {text!r}")


def same_address(first: str, second: str) -> bool:
    """Listener addresses compared as Windows does: IP and MAC by value, the rest case-insensitively."""
    try:
        first, second = normalize_address(first), normalize_address(second)
    except ValueError:
        return (first or "").strip().lower() == (second or "").strip().lower()
    if first.startswith("IP:") and second.startswith("IP:"):
        return ipaddress.ip_address(first[3:]) == ipaddress.ip_address(second[3:])
    return first.lower() == second.lower()


def validate(args: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The task's arguments checked and in Windows' spelling; ValueError names the field."""
    transport = args["transport"].upper()
    wanted: dict[str, t.Any] = {"address": normalize_address(args.get("address") or "*"), "transport": transport}
    port = args.get("port")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    wanted["port"] = port
    thumbprint = args.get("certificate_thumbprint")
    if thumbprint is not None:
        if transport == "HTTP":
            raise ValueError("certificate_thumbprint: an HTTP listener takes no certificate (Windows refuses it "
                             "with fault 2150858987); remove it or use transport: https")
        thumbprint = THUMBPRINT_NOISE.sub("", thumbprint).upper()
        if not THUMBPRINT.match(thumbprint):
            raise ValueError("certificate_thumbprint must be the certificate's SHA-1 thumbprint, 40 hexadecimal "
                             f"characters, got {len(thumbprint)} characters {args['certificate_thumbprint']!r}")
    wanted["certificate_thumbprint"] = thumbprint
    prefix = args.get("url_prefix")
    if prefix is not None and not URL_PREFIX.match(prefix):
        raise ValueError("url_prefix must not be blank, may hold only the characters a-z, A-Z, 0-9, '_' and '/', "
                         f"and must not start or end with '/' (MS-WSMV), got {prefix!r}")
    wanted["url_prefix"] = prefix
    hostname = args.get("hostname")
    if hostname is not None and any(character.isspace() for character in hostname.strip()):
        raise ValueError(f"hostname must be a host name (the certificate's CN for HTTPS), got {hostname!r}")
    wanted["hostname"] = hostname.strip() if hostname is not None else None
    wanted["enabled"] = args.get("enabled")
    return wanted


def describe(address: str, transport: str, port: t.Any = None) -> str:
    text = f"Address={address} Transport={transport}"
    return f"{text} Port={port}" if port is not None else text


# ---- prediction ----------------------------------------------------------------------------------

def predicted_listening_on(snapshot: resources.ConfigSnapshot, address: str) -> list[str] | None:
    """ListeningOn of a new listener: as another listener on the same address shows it, or the
    address itself when the service's IP filter lets it through; None when it cannot be known."""
    for listener in snapshot.listeners:
        if same_address(listener.get("address") or "", address):
            return list(listener.get("listening_on") or [])
    if address.startswith("IP:"):
        ip = ipaddress.ip_address(address[3:])
        service = snapshot.config.service
        text = (service.get("ipv6_filter" if ip.version == 6 else "ipv4_filter") or "").strip()
        if text == "*":
            return [str(ip)]
    return None


def predicted_new_listener(snapshot: resources.ConfigSnapshot, wanted: dict[str, t.Any]) -> resources.Listener:
    """The listener a Create makes, with Windows' defaults for what the task leaves out (MS-WSMV
    3.1.4.1.29.5): Port from service DefaultPorts, Enabled true, URLPrefix wsman. An HTTPS listener
    without a thumbprint gets the machine certificate Windows picks: unknown before it does (None)."""
    transport = wanted["transport"]
    default_port = snapshot.config.service.get("default_ports." + transport.lower())
    listener = resources.Listener({
        "address": wanted["address"], "transport": transport,
        "port": wanted["port"] if wanted["port"] is not None else default_port,
        "hostname": wanted["hostname"] or "",
        "enabled": True if wanted["enabled"] is None else wanted["enabled"],
        "url_prefix": wanted["url_prefix"] or "wsman",
    })
    if transport == "HTTP":
        listener.set("certificate_thumbprint", "")
    elif wanted["certificate_thumbprint"]:
        listener.set("certificate_thumbprint", wanted["certificate_thumbprint"])
    listener.values["listening_on"] = predicted_listening_on(snapshot, wanted["address"])
    return listener


# ---- the module --------------------------------------------------------------------------------------

class ActionModule(WSManAction):
    argument_spec = argspecs.LISTENER["argument_spec"]

    def execute(self, session, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            wanted = validate(args)
        except ValueError as error:  # before anything is sent: the session opens on the first request
            raise AnsibleActionFail(str(error)) from None
        snapshot = resources.read_all(session, parts=("config", "listeners"))
        result: dict[str, t.Any] = {"changed": False, "replaced": False}
        current = self._find(snapshot, wanted)
        if args["state"] == "absent":
            return self._absent(session, snapshot, wanted, current, args, result)
        return self._present(session, snapshot, wanted, current, args, result)

    # ---- lookup and refusals

    @staticmethod
    def _find(snapshot: resources.ConfigSnapshot, wanted: dict[str, t.Any]) -> resources.Listener | None:
        for listener in snapshot.listeners:
            if (not listener.is_compatibility and (listener.get("transport") or "").upper() == wanted["transport"]
                    and same_address(listener.get("address") or "", wanted["address"])):
                return listener
        return None

    @staticmethod
    def _compatibility_twin(snapshot: resources.ConfigSnapshot, wanted: dict[str, t.Any],
                            port: int | None) -> resources.Listener | None:
        """The compatibility listener the task describes (same address, transport and port)."""
        for listener in snapshot.listeners:
            if (listener.is_compatibility and (listener.get("transport") or "").upper() == wanted["transport"]
                    and same_address(listener.get("address") or "", wanted["address"])
                    and port is not None and listener.get("port") == port):
                return listener
        return None

    @staticmethod
    def _refuse_compatibility(listener: resources.Listener) -> t.NoReturn:
        transport = (listener.get("transport") or "").upper()
        option = transport.lower()
        raise ChangeRefused(
            f"{describe(listener.get('address'), transport, listener.get('port'))} is the compatibility listener "
            f"(Source=\"Compatibility\", from winrm/config/service {COMPATIBILITY_SETTINGS[transport]}). Windows "
            "never addresses compatibility listeners as listeners: they cannot be created, changed or deleted "
            "through winrm/config/listener. Turn it on or off with wsman.winrm.compat_listener "
            f"({option}: true/false), or give another port to create a listener of your own next to it.")

    def _policy_controlled(self, listener: resources.Listener, wanted_change: str, args: dict[str, t.Any],
                           result: dict[str, t.Any], fields: list[str]) -> dict[str, t.Any]:
        """A GPO listener: fail naming the policy value, or skip with a warning."""
        setting = resources.policy_setting("Service", "AllowAutoConfig")
        name = describe(listener.get("address"), listener.get("transport"))
        if args.get("policy_controlled", "fail") == "fail":
            raise ChangeRefused(
                f"The listener {name} comes from Group Policy (Source=\"GPO\"): the policy value "
                f"{setting.path}\\{setting.name} (Service\\AllowAutoConfig, 'Allow remote server management "
                "through WinRM') creates it, and Windows refuses to change or delete it (fault 2150858890). "
                f"Wanted: {wanted_change}. Change or remove the policy value with wsman.winrm.policy (state: absent "
                "means Not Configured), or set policy_controlled: skip to leave the listener as the policy sets it.")
        result["policy_skipped"] = fields
        result.setdefault("warnings", []).append(
            f"Left the listener {name} unchanged because Group Policy controls it "
            f"({setting.path}\\{setting.name}); wanted: {wanted_change}.")
        return result

    def _guard(self, session, snapshot: resources.ConfigSnapshot, target: resources.Listener,
               after: resources.Listener | None, args: dict[str, t.Any], result: dict[str, t.Any]) -> None:
        """The shared anti-lockout guard over the listeners as the change would leave them."""
        listeners_after = [after if item is target else item for item in snapshot.listeners]
        listeners_after = [item for item in listeners_after if item is not None]
        self.guard_lockout(session, snapshot.config, snapshot.listeners, listeners_after,
                           args.get("force", False), result)

    def _report(self, result: dict[str, t.Any], wanted: dict[str, t.Any], before: resources.Listener | None,
                after: resources.Listener | None, changes: list[str]) -> dict[str, t.Any]:
        before_view = before.to_dict() if before is not None else None
        after_view = after.to_dict() if after is not None else None
        result.update(before=before_view, listener=after_view, changes=changes, changed=bool(changes))
        if self._task.diff:
            header = "winrm/config/listener " + describe(wanted["address"], wanted["transport"])
            result["diff"] = {"before": before_view or {}, "after": after_view or {},
                              "before_header": header, "after_header": header}
        return result

    # ---- state: absent

    def _absent(self, session, snapshot, wanted, current, args, result) -> dict[str, t.Any]:
        port = wanted["port"]
        if current is None or (port is not None and current.get("port") != port):
            # Nothing matches address, transport and port: unless the task describes a
            # compatibility listener, there is nothing to delete.
            twin = self._compatibility_twin(snapshot, wanted, port)
            if twin is not None:
                self._refuse_compatibility(twin)
            name = describe(wanted["address"], wanted["transport"])
            if current is not None:
                result.setdefault("warnings", []).append(
                    f"The listener {name} is on port {current.get('port')}, not {port}: left as it is "
                    "(leave port out to delete it whatever its port).")
            elif self._compatibility_twin(snapshot, wanted, COMPATIBILITY_PORTS[wanted["transport"]]) is not None:
                result.setdefault("warnings", []).append(
                    f"There is no listener {name}; the compatibility listener with the same address and transport "
                    "stays (wsman.winrm.compat_listener turns it off).")
            return self._report(result, wanted, current, current, [])
        if current.source == resources.SOURCE_GPO:
            self._policy_controlled(current, "delete it", args, result, ["listener"])
            return self._report(result, wanted, current, current, [])
        self._guard(session, snapshot, current, None, args, result)
        if not self._task.check_mode:
            session.delete(resources.LISTENER_URI, current.selectors)
        return self._report(result, wanted, current, None, ["listener"])

    # ---- state: present

    def _present(self, session, snapshot, wanted, current, args, result) -> dict[str, t.Any]:
        if current is None:
            return self._create(session, snapshot, wanted, result)
        if wanted["port"] is not None and wanted["port"] != current.get("port"):
            # Moving a listener onto the port of the compatibility listener with the same address
            # and transport would make the task describe that one: refused like addressing it.
            twin = self._compatibility_twin(snapshot, wanted, wanted["port"])
            if twin is not None:
                self._refuse_compatibility(twin)
        desired = {name: wanted[name] for name in MANAGED if wanted[name] is not None}
        changes = resources.diff(current, desired)["changes"]
        if not changes:
            return self._report(result, wanted, current, current, [])
        if current.source == resources.SOURCE_GPO:
            wanted_change = ", ".join(f"{name} {change['before']!r} -> {change['after']!r}"
                                      for name, change in sorted(changes.items()))
            self._policy_controlled(current, wanted_change, args, result, sorted(changes))
            return self._report(result, wanted, current, current, [])
        predicted = current.updated({name: change["after"] for name, change in changes.items()})
        self._guard(session, snapshot, current, predicted, args, result)
        after = predicted
        if not self._task.check_mode:
            body = resources.Listener.render({name: change["after"] for name, change in changes.items()})
            reply = resources.Listener.from_xml(session.put(resources.LISTENER_URI, body, current.selectors))
            # Windows answers a Put with the whole listener; read it if a service answers with less.
            after = reply if reply.get("address") else resources.Listener.from_xml(
                session.get(resources.LISTENER_URI, current.selectors))
        return self._report(result, wanted, current, after, sorted(changes))

    def _create(self, session, snapshot, wanted, result) -> dict[str, t.Any]:
        predicted = predicted_new_listener(snapshot, wanted)
        twin = self._compatibility_twin(snapshot, wanted, predicted.get("port"))
        if twin is not None:
            self._refuse_compatibility(twin)
        after = predicted
        if not self._task.check_mode:
            # Port is left out when the task gives none: Windows applies its DefaultPorts itself.
            body = resources.Listener.create_body(
                port=wanted["port"], hostname=wanted["hostname"], enabled=wanted["enabled"],
                url_prefix=wanted["url_prefix"], certificate_thumbprint=wanted["certificate_thumbprint"])
            selectors = resources.listener_selectors(wanted["address"], wanted["transport"])
            session.create(resources.LISTENER_URI, body, selectors)
            after = resources.Listener.from_xml(session.get(resources.LISTENER_URI, selectors))
        return self._report(result, wanted, None, after, ["listener"])
