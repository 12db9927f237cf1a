# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinRM listeners as changes: what a task may ask for, what Windows will make, and the plan.

Windows changes every listener setting but the keys in place (MS-WSMV 3.1.4.1.29.5: Port, Hostname,
Enabled, URLPrefix and CertificateThumbprint are Put-able; Address and Transport are the selectors).
So a listener is created (Create; undo: Delete), changed (one partial Put, which Windows validates
whole before applying; undo: a Put of the values from before) or deleted (Delete; undo: Create with
the settings it had). It is never replaced. The wsman.winrm.listener module and the converge action
(the HTTPS move) plan with ``plan_listener()``.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import re
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import certificates, certstore, config, guards, plan
from ansible_collections.wsman.winrm.plugins.module_utils.policy import policy_setting
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import ChangeRefused

# The compatibility listeners are on the WinRM 1.1 ports.
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
    wanted["state"] = args.get("state") or "present"
    return wanted


def describe(address: str, transport: str, port: t.Any = None) -> str:
    text = f"Address={address} Transport={transport}"
    return f"{text} Port={port}" if port is not None else text


# ---- what Windows makes -------------------------------------------------------------------------

def predicted_listening_on(snapshot: t.Any, address: str) -> list[str] | None:
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


def predicted_new_listener(snapshot: t.Any, wanted: dict[str, t.Any]) -> config.Listener:
    """The listener a Create makes, with Windows' defaults for what the task leaves out (MS-WSMV
    3.1.4.1.29.5): Port from service DefaultPorts, Enabled true, URLPrefix wsman. An HTTPS listener
    without a thumbprint gets the machine certificate Windows picks: unknown before it does (None)."""
    transport = wanted["transport"]
    default_port = snapshot.config.service.get("default_ports." + transport.lower())
    listener = config.Listener({
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


def find(listeners: t.Sequence[config.Listener], address: str, transport: str) -> config.Listener | None:
    """The real (non-compatibility) listener with these keys."""
    for listener in listeners:
        if (not listener.is_compatibility and (listener.get("transport") or "").upper() == transport.upper()
                and same_address(listener.get("address") or "", address)):
            return listener
    return None


def compatibility_twin(listeners: t.Sequence[config.Listener], address: str, transport: str,
                       port: int | None) -> config.Listener | None:
    """The compatibility listener a task describes (same address, transport and port)."""
    for listener in listeners:
        if (listener.is_compatibility and (listener.get("transport") or "").upper() == transport.upper()
                and same_address(listener.get("address") or "", address)
                and port is not None and listener.get("port") == port):
            return listener
    return None


def refuse_compatibility(listener: config.Listener) -> t.NoReturn:
    transport = (listener.get("transport") or "").upper()
    raise ChangeRefused(
        f"{describe(listener.get('address'), transport, listener.get('port'))} is the compatibility listener "
        f"(Source=\"Compatibility\", from winrm/config/service {COMPATIBILITY_SETTINGS[transport]}). Windows "
        "never addresses compatibility listeners as listeners: they cannot be created, changed or deleted "
        "through winrm/config/listener. Turn it on or off with wsman.winrm.compat_listener "
        f"({transport.lower()}: true/false), or give another port to create a listener of your own next to it.")


# ---- the plan ------------------------------------------------------------------------------------

def _held(listener: config.Listener, items: dict[str, tuple[t.Any, t.Any]]) -> list[plan.Held]:
    """A listener Group Policy makes ("Allow remote server management through WinRM"): each wanted change."""
    source = policy_setting("Service", "AllowAutoConfig").describe() + ", which creates this listener"
    name = describe(listener.get("address"), listener.get("transport"))
    return [plan.Held(item, wanted, held, source, label="%s of the listener %s" % (item, name) if item != "listener"
                      else "the listener %s" % name)
            for item, (wanted, held) in items.items()]


def _settings_of(listener: config.Listener) -> dict[str, t.Any]:
    """The Put-able settings of a listener, as a Create body takes them."""
    values = {name: listener.get(name) for name in MANAGED}
    if (listener.get("transport") or "").upper() == "HTTP" or not values["certificate_thumbprint"]:
        values.pop("certificate_thumbprint")
    return {name: value for name, value in values.items() if value not in (None, "") or name == "enabled"}


def _read(session: t.Any, selectors: t.Mapping[str, str]) -> config.Listener | None:
    return t.cast("config.Listener | None", config.read_instance(session, config.Listener, selectors))


def _same(listener: config.Listener | None, values: t.Mapping[str, t.Any]) -> bool:
    return listener is not None and all(config.Listener.field(name).same(listener.get(name), value)
                                        for name, value in values.items())


def plan_listener(session: t.Any, snapshot: t.Any, wanted: dict[str, t.Any], name: str = "") -> plan.Plan:
    """The plan for one listener (``wanted`` from ``validate()``); before/after are listener dicts or None.

    ``plan.predicted`` is the listener list after the change (for the anti-lockout guard)."""
    current = find(snapshot.listeners, wanted["address"], wanted["transport"])
    change = plan.Plan(header="winrm/config/listener " + describe(wanted["address"], wanted["transport"]))
    change.before = change.after = current.to_dict() if current is not None else None
    change.predicted = list(snapshot.listeners)
    step_name = name or "listener " + describe(wanted["address"], wanted["transport"])
    selectors = config.listener_selectors(wanted["address"], wanted["transport"])
    port = wanted["port"]
    if wanted["state"] == "absent":
        if current is None or (port is not None and current.get("port") != port):
            twin = compatibility_twin(snapshot.listeners, wanted["address"], wanted["transport"], port)
            if twin is not None:
                refuse_compatibility(twin)
            what = describe(wanted["address"], wanted["transport"])
            if current is not None:
                change.warnings.append(f"The listener {what} is on port {current.get('port')}, not {port}: left as "
                                       "it is (leave port out to delete it whatever its port).")
            elif compatibility_twin(snapshot.listeners, wanted["address"], wanted["transport"],
                                    COMPATIBILITY_PORTS[wanted["transport"]]) is not None:
                change.warnings.append(f"There is no listener {what}; the compatibility listener with the same address "
                                       "and transport stays (wsman.winrm.compat_listener turns it off).")
            return change
        if current.source == config.SOURCE_GPO:
            change.held = _held(current, {"listener": ("delete it", "present")})
            return change
        settings_before = _settings_of(current)
        change.after = None
        change.predicted = [item for item in snapshot.listeners if item is not current]
        change.add(plan.Step(
            step_name, ["listener"],
            send=lambda: session.delete(config.LISTENER_URI, current.selectors),
            undo=lambda: session.create(config.LISTENER_URI, config.Listener.create_body(**settings_before), selectors),
            applied=lambda: _read(session, selectors) is None))
        return change
    if current is None:
        predicted = predicted_new_listener(snapshot, wanted)
        twin = compatibility_twin(snapshot.listeners, wanted["address"], wanted["transport"], predicted.get("port"))
        if twin is not None:
            refuse_compatibility(twin)
        change.after = predicted.to_dict()
        change.predicted = list(snapshot.listeners) + [predicted]
        # Port is left out when the task gives none: Windows applies its DefaultPorts itself.
        body = config.Listener.create_body(port=wanted["port"], hostname=wanted["hostname"], enabled=wanted["enabled"],
                                           url_prefix=wanted["url_prefix"],
                                           certificate_thumbprint=wanted["certificate_thumbprint"])

        def create() -> config.Listener:
            session.create(config.LISTENER_URI, body, selectors)
            return config.Listener.from_xml(session.get(config.LISTENER_URI, selectors))

        change.add(plan.Step(step_name, ["listener"], create,
                             lambda: config.delete_instance(session, config.Listener, selectors),
                             applied=lambda: _read(session, selectors) is not None))
        change.finish = lambda answers: answers[step_name].to_dict()
        return change
    if port is not None and port != current.get("port"):
        # Moving a listener onto the port of the compatibility listener with the same address and
        # transport would make the task describe that one: refused like addressing it.
        twin = compatibility_twin(snapshot.listeners, wanted["address"], wanted["transport"], port)
        if twin is not None:
            refuse_compatibility(twin)
    desired = {key: wanted[key] for key in MANAGED if wanted[key] is not None}
    changes = config.diff(current, desired)["changes"]
    if not changes:
        return change
    if current.source == config.SOURCE_GPO:
        change.held = _held(current, {key: (item["after"], item["before"]) for key, item in sorted(changes.items())})
        return change
    to_send = {key: item["after"] for key, item in changes.items()}
    to_restore = {key: item["before"] for key, item in changes.items()}
    predicted = current.updated(to_send)
    change.after = predicted.to_dict()
    change.predicted = [predicted if item is current else item for item in snapshot.listeners]
    body = config.Listener.render(to_send)

    def put() -> config.Listener:
        reply = config.Listener.from_xml(session.put(config.LISTENER_URI, body, current.selectors))
        # Windows answers a Put with the whole listener; read it if a service answers with less.
        return reply if reply.get("address") else config.Listener.from_xml(
            session.get(config.LISTENER_URI, current.selectors))

    change.add(plan.Step(
        step_name, sorted(to_send), put,
        undo=lambda: session.put(config.LISTENER_URI, config.Listener.render(
            {key: value for key, value in to_restore.items() if value is not None}), current.selectors),
        applied=lambda: _same(_read(session, current.selectors), to_send)))
    change.finish = lambda answers: answers[step_name].to_dict()
    return change


# ---- the certificate of an HTTPS listener -------------------------------------------------------------

def choose_certificate(session: t.Any, listeners: t.Sequence[config.Listener], wanted: dict[str, t.Any],
                       options: t.Mapping[str, t.Any], now: datetime.datetime | None = None,
                       machine: certificates.MachineCertificates | None = None, controller_endpoint: t.Any = None,
                       ) -> tuple[certstore.Binding, certificates.MachineCertificates]:
    """``certificate: auto``: read the host's stores and set ``wanted["certificate_thumbprint"]`` to the
    certificate the HTTPS listener should name (``certstore.binding_for``: a new listener gets the
    best match; a bound one follows its renewals, or is re-bound when its certificate is gone,
    expires within ``renew_within_days`` or no longer meets the criteria; otherwise it keeps it).

    The listener's Hostname (wanted, else current) must be the certificate's CN, as Windows checks.
    ``controller_endpoint``: the endpoint the controller will reach the listener through (host name,
    CA bundle, pin); only a certificate it would accept in the TLS handshake qualifies then.
    Raises ChangeRefused, listing why each certificate does not qualify, when none does. ``machine``:
    the stores already read (else they are read here).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    machine = machine if machine is not None else certificates.read(session)
    current = find(listeners, wanted["address"], "HTTPS")
    hostname = wanted.get("hostname")
    if hostname is None:
        hostname = (current.get("hostname") or "") if current is not None else ""
    criteria = certificates.criteria_for({"hostname": hostname}, machine, options.get("certificate_criteria") or {})
    criteria = dataclasses.replace(criteria, common_name=hostname or None,
                                   controller=_controller_view(controller_endpoint, machine))
    bound = current.get("certificate_thumbprint") if current is not None else None
    binding = certstore.binding_for(bound or None, machine.my, criteria, now, int(options.get("renew_within_days", 30)),
                                    machine.trusted)
    if binding.thumbprint is None:
        raise ChangeRefused("certificate: auto: no certificate of LocalMachine\\My can serve the HTTPS listener "
                            "%s. %s. Enroll one (or renew it), or name one with certificate_thumbprint."
                            % (describe(wanted["address"], "HTTPS"), binding.explain()))
    wanted["certificate_thumbprint"] = binding.thumbprint
    return binding, machine


def _controller_view(endpoint: t.Any, machine: certificates.MachineCertificates) -> certstore.ControllerView | None:
    if endpoint is None:
        return None
    try:
        anchors = certstore.load_trust_anchors(endpoint.cert_validation)
    except (OSError, ValueError) as error:
        raise ChangeRefused("certificate: auto: the controller's CA bundle %s cannot be read (%s), so which "
                            "certificate it would accept is unknown" % (endpoint.cert_validation, error)) from None
    return certstore.ControllerView(endpoint.host, None if anchors is None else tuple(anchors),
                                    getattr(endpoint, "cert_fingerprint", None), tuple(machine.intermediates))


def certificate_result(binding: certstore.Binding) -> dict[str, t.Any]:
    """What the task says about the certificate it chose."""
    return {"action": binding.action, "thumbprint": binding.thumbprint, "previous": binding.current,
            "reason": binding.reason, "renewal_chain": list(binding.chain)}


def _thumbprint(listener: t.Any) -> str:
    return (listener.get("certificate_thumbprint") or "").upper()


def _rebinds_listener_in_use(endpoint: t.Any, before: t.Sequence[t.Any], after: t.Sequence[t.Any]) -> bool:
    for listener in before:
        if guards.serves(endpoint, listener) and not listener.is_compatibility:
            twin = find(after, listener.get("address") or "*", "HTTPS")
            if twin is not None and _thumbprint(twin) != _thumbprint(listener):
                return True
    return False


def certificate_lockout(session: t.Any, listeners_before: t.Sequence[t.Any], listeners_after: t.Sequence[t.Any],
                        machine: certificates.MachineCertificates | None = None,
                        now: datetime.datetime | None = None) -> list[str]:
    """Why the change would have the HTTPS listener this task connects through serve a certificate
    the controller refuses (its CA bundle, validation setting and pin). The stores are read only when
    such a listener's thumbprint changes and the caller has not read them."""
    endpoint = session.endpoint
    if endpoint.scheme != "https" or not _rebinds_listener_in_use(endpoint, listeners_before, listeners_after):
        return []
    machine = machine if machine is not None else certificates.read(session)
    try:
        anchors = certstore.load_trust_anchors(endpoint.cert_validation)
    except (OSError, ValueError) as error:
        return ["the controller's CA bundle %s cannot be read (%s), so whether it would accept the new certificate "
                "is unknown" % (endpoint.cert_validation, error)]
    return guards.certificate_reasons(endpoint, listeners_before, listeners_after, {c.thumbprint: c for c in machine.my},
                                      now or datetime.datetime.now(datetime.timezone.utc), anchors,
                                      machine.intermediates)
