# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Anti-lockout: would a change cut the connection the task itself is using?

Pure functions over the endpoint in use and the predicted state after the change (config and
listeners). Every module calls ``lockout_reasons()`` before it sends a change; the roles rely on it
too. An empty list means the change is safe for this connection.
"""

from __future__ import annotations

import ipaddress
import typing as t

# Which service auth switch admits each client auth. NTLM arrives as the Negotiate scheme, and a
# Kerberos client may be admitted by either the Kerberos or the Negotiate switch.
SERVICE_AUTH_FOR_CLIENT = {
    "basic": ("basic",),
    "ntlm": ("negotiate",),
    "negotiate": ("negotiate",),
    "kerberos": ("kerberos", "negotiate"),
    "certificate": ("certificate",),
    "credssp": ("credssp",),
}


def _covers(address: str, host: str) -> bool:
    """Whether a listener address takes connections to ``host`` (names and MACs: assume it does)."""
    if (address or "*") == "*" or not address.upper().startswith("IP:"):
        return True
    try:
        return ipaddress.ip_address(address[3:].strip("[]")) == ipaddress.ip_address(host)
    except ValueError:
        return True


def serves(endpoint: t.Any, listener: t.Any) -> bool:
    """The listener answers the URL this task dials: transport, port, URL prefix and address."""
    return ((listener.get("transport") or "").upper() == endpoint.scheme.upper()
            and listener.get("enabled", True) is not False
            and listener.get("port") == endpoint.port
            and (listener.get("url_prefix") or "wsman").strip("/").lower() == endpoint.path.strip("/").lower()
            and _covers(listener.get("address") or "*", endpoint.host))


def _same_transport(endpoint: t.Any, listeners: t.Iterable[t.Any]) -> list[t.Any]:
    return [item for item in listeners
            if (item.get("transport") or "").upper() == endpoint.scheme.upper() and item.get("enabled", True) is not False]


def _describe(listener: t.Any) -> str:
    kind = "compatibility listener" if getattr(listener, "source", "") == "Compatibility" else "listener"
    return f"the {kind} {listener.get('address') or '*'}/{(listener.get('transport') or '').upper()} " \
           f"on port {listener.get('port')}"


def _what_happens(listener: t.Any, listeners_after: t.Sequence[t.Any]) -> str:
    """What the change does to a listener: matched after the change by address, transport and source."""
    key = ((listener.get("address") or "*").lower(), (listener.get("transport") or "").upper(),
           getattr(listener, "source", ""))
    for item in listeners_after:
        if ((item.get("address") or "*").lower(), (item.get("transport") or "").upper(),
                getattr(item, "source", "")) == key:
            if item.get("enabled", True) is False:
                return "disable it"
            if item.get("port") != listener.get("port"):
                return f"move it to port {item.get('port')}"
            return f"change its URL prefix to {item.get('url_prefix')!r}"
    return "remove it"


def listener_reasons(endpoint: t.Any, listeners_before: t.Sequence[t.Any],
                     listeners_after: t.Sequence[t.Any]) -> list[str]:
    """Why the listeners after the change would no longer answer this task's URL.

    The listener in use is the one answering the exact URL the task dials (transport, port, URL
    prefix, address); another listener of the same transport elsewhere is no way back in. When no
    listener has the port the task dials (a NAT, proxy or port forward), every enabled listener of
    the transport may be the one in use, so the change is refused only when none would be left.
    """
    in_use = [item for item in listeners_before if serves(endpoint, item)]
    if in_use:
        if any(serves(endpoint, item) for item in listeners_after):
            return []
        return [f"this task connects through {_describe(item)} ({endpoint.url}), and the change would "
                f"{_what_happens(item, listeners_after)}" for item in in_use]
    if _same_transport(endpoint, listeners_before) and not _same_transport(endpoint, listeners_after):
        return [f"no enabled {endpoint.scheme.upper()} listener would be left, and this task connects over "
                f"{endpoint.scheme.upper()} ({endpoint.url}, through a port mapping)"]
    return []


def _address_allowed(filter_text: str | None, host: str) -> bool:
    """Whether an IPv4/IPv6 filter (``*``, ``a-b, c-d``, empty = nothing) lets the service listen
    on ``host``. Names cannot be checked without DNS and count as allowed."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    text = (filter_text or "").strip()
    if text == "*":
        return True
    if not text:
        return False
    for part in text.split(","):
        low, _sep, high = part.strip().partition("-")
        try:
            first = ipaddress.ip_address(low.strip())
            last = ipaddress.ip_address(high.strip()) if high else first
        except ValueError:
            continue
        if first.version == address.version and first <= address <= last:
            return True
    return False


def lockout_reasons(endpoint: t.Any, config_after: t.Any, listeners_before: t.Sequence[t.Any],
                    listeners_after: t.Sequence[t.Any]) -> list[str]:
    """Reasons the change would cut this task's own connection (empty when it would not).

    ``config_after`` is the predicted ``WinRMConfig``; listeners are ``Listener`` objects (or
    anything with ``get()``), compatibility listeners included.
    """
    reasons: list[str] = []
    service = config_after.service
    reasons.extend(listener_reasons(endpoint, listeners_before, listeners_after))
    switches = SERVICE_AUTH_FOR_CLIENT.get(endpoint.auth, ())
    if switches and not any(service.get("auth." + name) for name in switches):
        reasons.append(
            f"the service would refuse {endpoint.auth} authentication, which this task uses "
            f"(service auth {' / '.join(switches)} off)")
    if endpoint.scheme == "http" and endpoint.encryption == "never" and service.get("allow_unencrypted") is False:
        reasons.append("the service would refuse unencrypted traffic while this task sends "
                       f"{endpoint.auth} over plain HTTP")
    if service.get("allow_remote_access") is False:
        reasons.append("the service would refuse every remote request (AllowRemoteAccess false)")
    filter_name = "ipv6_filter" if ":" in endpoint.host else "ipv4_filter"
    if not _address_allowed(service.get(filter_name), endpoint.host):
        reasons.append(f"the service {filter_name} would stop it listening on {endpoint.host}, "
                       "the address this task connects to")
    return reasons


# ---- the certificate of the HTTPS listener in use ------------------------------------------------

def certificate_reasons(endpoint: t.Any, listeners_before: t.Sequence[t.Any], listeners_after: t.Sequence[t.Any],
                        certificates: t.Mapping[str, t.Any], now: t.Any, anchors: t.Any = None,
                        intermediates: t.Sequence[t.Any] = ()) -> list[str]:
    """Why a re-bind would leave the HTTPS listener this task connects through serving a certificate
    the controller refuses (empty when it would not).

    ``certificates``: thumbprint -> ``certstore.StoredCertificate`` of the host's My store;
    ``anchors``: the controller's trust anchors (``certstore.load_trust_anchors(endpoint.cert_validation)``,
    None when it does not validate). A pinned SHA-256 (``endpoint.cert_fingerprint``) counts as well.
    """
    if endpoint.scheme != "https":
        return []
    from ansible_collections.wsman.winrm.plugins.module_utils import certstore  # pylint: disable=import-outside-toplevel

    reasons = []
    for before in [item for item in listeners_before if serves(endpoint, item)]:
        key = ((before.get("address") or "*").lower(), (before.get("transport") or "").upper())
        after = next((item for item in listeners_after
                      if ((item.get("address") or "*").lower(), (item.get("transport") or "").upper()) == key), None)
        if after is None:
            continue  # a removal: listener_reasons() says so
        old, new = (before.get("certificate_thumbprint") or "").upper(), (after.get("certificate_thumbprint") or "").upper()
        if not new or new == old:
            continue
        cert = certificates.get(new)
        if cert is None:
            problems = ["it is not in the host's My store"]
        else:
            problems = [r.message for r in certstore.controller_reasons(
                cert, now, endpoint.host, anchors, getattr(endpoint, "cert_fingerprint", None), intermediates)]
        if problems:
            reasons.append(f"this task connects through {_describe(before)} ({endpoint.url}), and the change would "
                           f"have it serve the certificate {new}, which the controller would refuse: "
                           + "; ".join(problems))
    return reasons


# ---- Windows Firewall ---------------------------------------------------------------------------

FIREWALL_PROFILE_BITS = (("domain", 1), ("private", 2), ("public", 4))
_LOCAL_SUBNET = ("localsubnet", "localsubnet4", "localsubnet6")


def _same_subnet(controller: t.Any, host: str) -> bool:
    """LocalSubnet seen from the host, estimated from the controller: both loopback, or the same
    /24 (IPv4) or /64 (IPv6). The host's real prefix is unknown to the controller."""
    try:
        target = ipaddress.ip_address(host)
    except ValueError:
        return True  # a host name: cannot tell without DNS, count it as admitted
    if controller.version != target.version:
        return False
    if controller.is_loopback and target.is_loopback:
        return True
    prefix = 24 if controller.version == 4 else 64
    return ipaddress.ip_network(f"{controller}/{prefix}", strict=False) == \
        ipaddress.ip_network(f"{target}/{prefix}", strict=False)


def firewall_address_admits(remote_addresses: t.Iterable[str], controller: str | None, host: str) -> bool:
    """Whether a rule's RemoteAddress list admits the controller's address (None = unknown: only Any does).

    Tokens as Windows stores them: Any, keywords, addresses, ``a-b`` ranges, ``net/mask`` or
    ``net/prefix``. Keywords other than LocalSubnet (DNS, DHCP, DefaultGateway...) name hosts the
    controller cannot identify and do not count as admitting it.
    """
    tokens = [str(item).strip() for item in remote_addresses]
    if any(token.lower() in ("any", "*") for token in tokens):
        return True
    if controller is None:
        return False
    address = ipaddress.ip_address(controller)
    for token in tokens:
        lowered = token.lower()
        if lowered in _LOCAL_SUBNET:
            if (lowered[-1:] not in "46" or int(lowered[-1]) == address.version) and _same_subnet(address, host):
                return True
            continue
        try:
            if "-" in token:
                low, high = (ipaddress.ip_address(part.strip()) for part in token.split("-", 1))
                if low.version == address.version and low <= address <= high:
                    return True
            elif "/" in token:
                if address in ipaddress.ip_network(token, strict=False):
                    return True
            elif ipaddress.ip_address(token) == address:
                return True
        except (ValueError, TypeError):
            continue  # a keyword or a form this check does not know
    return False


def _firewall_coverage(rules: t.Sequence[t.Mapping[str, t.Any]], relevant: set[str], controller: str | None,
                       host: str) -> dict[str, list[str]]:
    """Profile -> names of the enabled inbound allow rules that admit the controller there."""
    coverage: dict[str, list[str]] = {name: [] for name, _bit in FIREWALL_PROFILE_BITS}
    for rule in rules:
        if rule["name"].lower() not in relevant or not rule.get("enabled"):
            continue
        if rule.get("direction", "inbound") != "inbound" or rule.get("action", "allow") != "allow":
            continue
        if not firewall_address_admits(rule.get("remote_addresses") or ["Any"], controller, host):
            continue
        profiles = rule.get("profiles") or ["any"]
        for name, _bit in FIREWALL_PROFILE_BITS:
            if "any" in profiles or name in profiles:
                coverage[name].append(rule["name"])
    return coverage


def firewall_admits_port(rules: t.Sequence[t.Mapping[str, t.Any]], port: t.Any, controller: str | None,
                         host: str) -> bool:
    """Whether an enabled inbound allow rule for TCP ``port`` (or any port) admits the controller on
    some profile. Windows Firewall blocks unsolicited inbound traffic that no rule allows (Microsoft
    Learn, "Windows Firewall rules": the default inbound action is block), so without one the port
    drops the controller's connection. Rules are ``FirewallRule.to_dict()`` dicts."""
    wanted = str(port).lower()
    relevant = {rule["name"].lower() for rule in rules
                if (rule.get("protocol") or "").upper() in ("TCP", "ANY", "")
                and ({str(p).lower() for p in rule.get("local_ports") or ["any"]} & {wanted, "any"})}
    return any(_firewall_coverage(rules, relevant, controller, host).values())


def firewall_lockout_reasons(endpoint: t.Any, controller: str | None, rules_before: t.Sequence[t.Mapping[str, t.Any]],
                             rules_after: t.Sequence[t.Mapping[str, t.Any]], host_address: str | None = None,
                             listener_ports: t.Iterable[int] = ()) -> list[str]:
    """Reasons a firewall change would stop admitting this task's connection (empty when it would not).

    Rules are ``FirewallRule.to_dict()`` dicts (name, enabled, profiles, direction, action,
    protocol, local_ports, remote_addresses). The rules in use are the TCP rules for the port the
    task dials; when none names it (a NAT or port forward in between), the rules for the ports of
    the host's enabled listeners of the task's transport (``listener_ports``), and failing those
    every inbound TCP rule. The host's network profile is unknown from here, so a profile on which the controller
    was admitted before and would not be after is a reason. ``controller`` is the controller's
    source address toward the host (None = unknown), ``host_address`` the host's resolved address.
    """
    host = host_address or endpoint.host
    port = str(endpoint.port)
    tcp = [rule for rule in rules_before if (rule.get("protocol") or "").upper() in ("TCP", "ANY", "")]

    def naming(ports: set[str]) -> set[str]:
        return {rule["name"].lower() for rule in tcp
                if ports & {str(p).lower() for p in rule.get("local_ports") or []} or
                "any" in [str(p).lower() for p in rule.get("local_ports") or []]}

    relevant = naming({port}) or naming({str(p) for p in listener_ports}) or {rule["name"].lower() for rule in tcp}
    before = _firewall_coverage(rules_before, relevant, controller, host)
    after = _firewall_coverage(rules_after, relevant, controller, host)
    lost = [name for name, _bit in FIREWALL_PROFILE_BITS if before[name] and not after[name]]
    if not lost:
        return []
    used = sorted({rule for name in lost for rule in before[name]})
    who = controller or "this controller (address unknown)"
    return [f"no enabled firewall rule would admit TCP port {endpoint.port} from {who} on the "
            f"{', '.join(lost)} profile{'s' if len(lost) > 1 else ''} any more (rules in use: {', '.join(used)}); "
            f"if the host's network is on that profile, this task's connection ({endpoint.url}) is cut"]
