# Copyright (c) 2026 wsman.winrm contributors
# MIT License (see LICENSE)
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


def _listeners_serving(endpoint: t.Any, listeners: t.Iterable[t.Any]) -> list[t.Any]:
    """Enabled listeners of the endpoint's transport, narrowed to its port when one matches.

    A NAT, a proxy or a port forward can put the listener on another port than the one the
    controller dials; then every enabled listener of the transport counts as possibly in use.
    """
    transport = endpoint.scheme.upper()
    enabled = [item for item in listeners
               if (item.get("transport") or "").upper() == transport and item.get("enabled", True)]
    on_port = [item for item in enabled if item.get("port") == endpoint.port]
    return on_port or enabled


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
        low, _, high = part.strip().partition("-")
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
    in_use_before = _listeners_serving(endpoint, listeners_before)
    if in_use_before and not _listeners_serving(endpoint, listeners_after):
        reasons.append(
            f"no enabled {endpoint.scheme.upper()} listener would be left for port {endpoint.port}, "
            f"the listener this task connects through ({endpoint.url})")
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
