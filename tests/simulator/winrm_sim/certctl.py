"""What happens to a simulated host's certificates away from WS-Management: autoenrollment renews
one, a CA issues a new one, an administrator deletes one, a blob gets damaged, time passes.

    winrm-sim cert --state-dir DIR --host NAME renew [--thumbprint T] [--days 1095]
    winrm-sim cert --state-dir DIR --host NAME issue [--days 365] [--issuer ca|untrusted|self] [--no-ip] [--dns A,B] ...
    winrm-sim cert --state-dir DIR --host NAME remove --thumbprint T
    winrm-sim cert --state-dir DIR --host NAME corrupt --thumbprint T
    winrm-sim cert --state-dir DIR --host NAME outlive --thumbprint T [--address *]

Each prints one JSON object (``{"host": ..., "action": ..., "thumbprint": ...}``). While ``serve``
runs on the state dir, the command hands the request to it (``requests/<id>.json``, answered in
``requests/<id>.result.json``) so the running host changes at once; otherwise it changes the state
file itself.

- ``renew`` is autoenrollment's renewal (Microsoft Learn, "ICertPropertyRenewal interface" and
  "ICertPropertyArchived interface"): a new certificate with the same subject, key and extensions,
  signed by the same CA, valid ``--days`` from now; the old one gets the RENEWAL property (the new
  SHA-1) and ARCHIVED. The listener keeps naming the old thumbprint, as on Windows.
- ``outlive`` sets a listener's CertificateThumbprint as Windows kept it from the day the
  certificate was valid (no checks): the state a host reaches when a bound certificate expires, or
  is removed, with nobody re-binding the listener.
"""
from __future__ import annotations

import datetime
import json
import os
import time
import uuid

from .model.certstores import MY, NotInStore, read_blob, write_blob
from .protocol.faults import WSManFault

REQUESTS_DIR = "requests"
PID_FILE = "serve.pid"
ACTIONS = ("renew", "issue", "remove", "corrupt", "outlive")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _https_thumbprint(host) -> str:
    """The thumbprint of the host's (first local) HTTPS listener, else of its PKI server certificate."""
    for item in host.listeners.local():
        if item["Transport"] == "HTTPS" and item["CertificateThumbprint"]:
            return item["CertificateThumbprint"]
    server = next((c for c in host.cert_store.certs if c.role == "server"), None)
    if server is None:
        raise ValueError("no thumbprint given and the host has neither an HTTPS listener nor a server certificate")
    return server.thumbprint


def apply(host, pki, request: dict) -> dict:
    """Carry out one request on ``host`` (holding its lock); returns the JSON answer."""
    action = request.get("action")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}")
    store = host.cert_store
    thumbprint = (request.get("thumbprint") or "").replace(" ", "").upper()
    answer = {"host": host.name, "action": action}
    now = _now()
    if action == "renew":
        old = thumbprint or _https_thumbprint(host)
        raw = store.blob(MY, old)
        if raw is None:
            raise ValueError(f"no certificate {old} in LocalMachine\\MY of {host.name}")
        _properties, der = read_blob(raw)
        days = int(request.get("days") or 1095)
        new_der = pki.renew_certificate(der, not_before=now - datetime.timedelta(days=1),
                                        not_after=now + datetime.timedelta(days=days))
        answer.update(renewed=old, thumbprint=store.renew(old, new_der, template=request.get("template") or "Machine"))
    elif action == "issue":
        days = int(request.get("days") if request.get("days") is not None else 365)
        not_after = now + datetime.timedelta(days=days)
        not_before = min(now - datetime.timedelta(days=1), not_after - datetime.timedelta(days=365))
        eku = request.get("eku") or "server"
        cn = request.get("cn") or host.name
        dns = request.get("dns")
        if dns is None:
            # A domain member's enrollment names its FQDN as well (pki.PKI.host_store says why).
            domain = getattr(getattr(host, "system", None), "domain", None)
            dns = [cn, cn.lower()] + ([domain.fqdn(host)] if domain is not None and cn == host.name else [])
        dns = [d for d in dns.split(",") if d] if isinstance(dns, str) else dns
        der = pki.issue_host_certificate(
            cn, not_before=not_before, not_after=not_after, issuer=request.get("issuer") or "ca",
            server=eku in ("server", "both"), client=eku in ("client", "both"), dns=dns,
            ips=[] if request.get("no_ip") else [host.address])
        answer["thumbprint"] = store.install(MY, der, private_key=not request.get("no_key"),
                                             template=request.get("template") or None,
                                             friendly_name=request.get("friendly_name") or None)
    elif action == "remove":
        store.remove(request.get("store") or MY, _required(thumbprint))
        answer["thumbprint"] = thumbprint
    elif action == "corrupt":
        where = request.get("store") or MY
        raw = store.blob(where, _required(thumbprint))
        if raw is None:
            raise ValueError(f"no certificate {thumbprint} in LocalMachine\\{where} of {host.name}")
        properties, der = read_blob(raw)
        how = request.get("how") or "truncate"
        if how == "truncate":        # the encoded certificate cut short, as after a torn write
            damaged = raw[:len(raw) - len(der) // 2]
        elif how == "reserved":      # an element whose Reserved field is not 1 ([MS-GPEF] 2.2.1.1.1.1)
            damaged = bytearray(write_blob(der, sorted(properties.items())))
            damaged[4:8] = (7).to_bytes(4, "little")
            damaged = bytes(damaged)
        else:
            raise ValueError("--how is truncate or reserved")
        store.put_raw(where, thumbprint, damaged)
        answer.update(thumbprint=thumbprint, how=how)
    elif action == "outlive":
        address = request.get("address") or "*"
        try:
            host.listeners.outlive(address, "HTTPS", _required(thumbprint))
        except WSManFault:
            raise ValueError(f"{host.name} has no local HTTPS listener with Address {address}") from None
        answer.update(thumbprint=thumbprint, address=address)
    return answer


def _required(thumbprint: str) -> str:
    if not thumbprint:
        raise ValueError("--thumbprint is required for this action")
    return thumbprint


# --- the request files between the command and a running serve -------------------------------------
def serving_pid(state_dir: str) -> int | None:
    try:
        with open(os.path.join(state_dir, PID_FILE), encoding="ascii") as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def submit(state_dir: str, request: dict, timeout: float = 120.0) -> dict:
    """Hand ``request`` to the running serve and wait for its answer."""
    folder = os.path.join(state_dir, REQUESTS_DIR)
    os.makedirs(folder, exist_ok=True)
    name = uuid.uuid4().hex
    tmp = os.path.join(folder, f".{name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(request, handle)
    os.replace(tmp, os.path.join(folder, f"{name}.json"))
    result = os.path.join(folder, f"{name}.result.json")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(result):
            with open(result, encoding="utf-8") as handle:
                answer = json.load(handle)
            os.unlink(result)
            return answer
        if serving_pid(state_dir) is None:
            break
        time.sleep(0.05)
    return {"error": f"serve did not answer the request within {timeout:.0f} s"}


def pending(state_dir: str) -> list[str]:
    folder = os.path.join(state_dir, REQUESTS_DIR)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.endswith(".result.json"))
    except FileNotFoundError:
        return []
    return [os.path.join(folder, n) for n in names]


def answer_pending(state_dir: str, hosts_by_name: dict, pki) -> None:
    """In serve: carry out every waiting request and write its answer."""
    for path in pending(state_dir):
        try:
            with open(path, encoding="utf-8") as handle:
                request = json.load(handle)
            host = hosts_by_name.get(request.get("host"))
            if host is None:
                raise ValueError(f"no host {request.get('host')!r} in this fleet")
            answer = host.local_change(lambda h=host, r=request: apply(h, pki, r))
        except (OSError, ValueError, NotInStore) as error:
            answer = {"error": str(error)}
        result = path[:-len(".json")] + ".result.json"
        tmp = result + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(answer, handle)
        os.replace(tmp, result)
        os.unlink(path)
