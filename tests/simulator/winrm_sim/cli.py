"""``winrm-sim``: run a fleet of simulated Windows hosts on loopback addresses.

    winrm-sim serve --hosts 3 --profile server2022,winrm11,upgraded11 \\
        --state-dir /tmp/sim --inventory /tmp/sim/inventory.yml
    winrm-sim ls-state --state-dir /tmp/sim

``serve`` prints exactly one line ``READY <inventory>`` once every host accepts connections and
runs until SIGTERM or SIGINT. The state dir keeps the fleet roster, the accounts, the PKI and one
state file per host (the engine's), so a restart with the same state dir resumes everything.
"""
from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import logging
import os
import secrets
import signal
import socket
import string
import sys
import threading
import time

from winrm_sim import auth as authmod
from winrm_sim import certctl
from winrm_sim.pki import PKI

log = logging.getLogger("winrm_sim.cli")

# Computer-name prefixes per profile (NetBIOS names: 15 characters at most).
NAME_PREFIX = {
    "server2022": "SIM-2022",
    "server2022_https": "SIM-2022S",
    "winrm11": "SIM-W11",
    "upgraded11": "SIM-UPG",
    "gpo": "SIM-GPO",
    "workstation": "SIM-WKS",
    "basic_unencrypted": "SIM-BASIC",
    "server2022_jea": "SIM-JEA",
    "winrm11_scoped": "SIM-W11S",
    "winrm11_ports": "SIM-W11P",
}
ROSTER_FILE = "fleet.json"
ACCOUNTS_FILE = "accounts.json"
NTLM_FILE = "ntlm-users.txt"
DEFAULT_BASE = "127.0.10.1"


def _generate_password() -> str:
    # Meets Windows complexity (upper, lower, digit, symbol); no ':' (NTLM user file separator),
    # no quote or backslash (inventory and shells).
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _index in range(14))
    return f"Sim{core}9!"


def _write_json_atomic(path: str, data) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_accounts(state_dir: str, admin_password: str | None) -> dict:
    """The local accounts every host has, kept in the state dir so passwords survive restarts.

    ``Administrator`` is the built-in administrator (RID 500, not subject to UAC remote
    restrictions); ``localadmin`` is another member of Administrators, which a remote NTLM logon
    sees with a filtered token unless LocalAccountTokenFilterPolicy=1; ``operator`` is a user.
    """
    path = os.path.join(state_dir, ACCOUNTS_FILE)
    accounts = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            accounts = json.load(handle)
    defaults = {"Administrator": True, "localadmin": True, "operator": False}
    for name, admin in defaults.items():
        accounts.setdefault(name, {"password": _generate_password(), "admin": admin})
    if admin_password:
        if any(ch in admin_password for ch in ":\r\n"):
            raise SystemExit("--password must not contain ':' or line breaks")
        accounts["Administrator"]["password"] = admin_password
    _write_json_atomic(path, accounts)
    return accounts


def plan_fleet(state_dir: str, count: int, profiles: list[str], base_address: str) -> list[dict]:
    """Names, addresses and profiles of the hosts; an existing roster keeps its hosts."""
    path = os.path.join(state_dir, ROSTER_FILE)
    roster: list[dict] = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            roster = json.load(handle).get("hosts", [])
    base = ipaddress.ip_address(base_address)
    planned = []
    for index in range(count):
        if index < len(roster):
            planned.append(roster[index])
            continue
        profile, _sep, category = profiles[index % len(profiles)].partition("@")
        prefix = NAME_PREFIX.get(profile, "SIM-" + "".join(c for c in profile.upper() if c.isalnum())[:4])
        spec = {"name": f"{prefix}-{index + 1:02d}", "address": str(base + index), "profile": profile}
        if category:
            spec["network"] = category.capitalize()
        planned.append(spec)
    _write_json_atomic(path, {"hosts": planned if len(planned) >= len(roster) else planned + roster[count:]})
    return planned


def make_host(spec: dict, state_dir: str, store, accounts: dict, engine: str):
    state_path = os.path.join(state_dir, f"{spec['name']}.json")
    host_accounts = {name: dict(value) for name, value in accounts.items()}
    if engine == "stub":
        return StubHost(spec["name"], spec["address"], spec["profile"], state_path, store, host_accounts)
    from winrm_sim.host import SimHost
    return SimHost(spec["name"], spec["address"], spec["profile"], state_path, store, host_accounts,
                   domain=authmod.kerberos_config())


# -- inventory --------------------------------------------------------------------------------------

def _yaml_scalar(value) -> str:
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))       # a JSON array is a valid YAML flow sequence
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))        # a JSON string is a valid YAML double-quoted scalar


def _yaml(data, indent: int = 0) -> list[str]:
    lines = []
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, dict):
            if not value:
                lines.append(f"{pad}{_yaml_key(key)}: {{}}")
            else:
                lines.append(f"{pad}{_yaml_key(key)}:")
                lines.extend(_yaml(value, indent + 1))
        else:
            lines.append(f"{pad}{_yaml_key(key)}: {_yaml_scalar(value)}")
    return lines


def _yaml_key(key) -> str:
    return str(key) if isinstance(key, int) else (key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key))


def host_endpoint(entry) -> tuple[str, int]:
    """Scheme and bound port Ansible should use for a host: its HTTP listener, else HTTPS, else
    the compatibility listeners, else the client default (nothing listens: the workstation)."""
    try:
        listeners = list(entry.host.active_listeners())
    except Exception:
        listeners = []

    def rank(listener):
        return (listener.source == "Compatibility", listener.transport.lower() != "http")
    for listener in sorted(listeners, key=rank):
        bound = entry.port_map.get(listener.port)
        if bound:
            return listener.transport.lower(), bound
    return "http", 5985


def host_vars(spec: dict, entry, accounts: dict, pki: PKI) -> dict:
    """One host's inventory variables: how to reach it now (its listeners) and its test material."""
    scheme, port = host_endpoint(entry)
    store = getattr(entry.host, "cert_store", None) or entry.cert_store
    server_cert = next((c for c in store.certs if c.role == "server"), None) if store else None
    variables = {
        "ansible_host": spec["address"],
        "ansible_port": port,
        "ansible_user": "Administrator",
        "ansible_password": accounts["Administrator"]["password"],
        "ansible_connection": "winrm",
        "ansible_winrm_transport": "ntlm",
        "ansible_winrm_scheme": scheme,
        "ansible_winrm_ca_trust_path": pki.ca_path,
        "wsman_winrm_sim_thumbprint": server_cert.thumbprint if server_cert else "",
        "wsman_winrm_sim_profile": spec["profile"],
        "wsman_winrm_sim_ports": dict(sorted(entry.port_map.items())),
        **({"wsman_winrm_sim_network": entry.host.network.info()} if hasattr(entry.host, "network") else {}),
        "wsman_winrm_sim_client_cert_pem": pki.client_cert_path,
        "wsman_winrm_sim_client_key_pem": pki.client_key_path,
    }
    kerberos = authmod.kerberos_config()
    if kerberos is not None:
        variables["wsman_winrm_sim_fqdn"] = kerberos.fqdn(entry.host)
    return variables


def build_inventory(server, specs: list[dict], accounts: dict, pki: PKI, known: dict | None = None) -> dict:
    """The fleet's inventory; ``known``: host name -> variables already built (host_vars)."""
    groups: dict[str, dict] = {}
    for spec, entry in zip(specs, server.entries):
        variables = (known or {}).get(spec["name"]) or host_vars(spec, entry, accounts, pki)
        groups.setdefault(f"sim_{spec['profile']}", {"hosts": {}})["hosts"][spec["name"]] = variables
    return {
        "all": {
            "children": {
                "windows": {
                    "vars": {
                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        # NTLM over HTTP needs the host in the controller's trusted hosts, as
                        # PowerShell's TrustedHosts (wsman.winrm's resolver refuses it otherwise).
                        "wsman_winrm_trusted_hosts": ",".join(sorted(
                            h["ansible_host"] for g in groups.values() for h in g["hosts"].values())),
                        "wsman_winrm_sim_ca_issuer_thumbprint": pki.ca_thumbprint,
                        "wsman_winrm_sim_operator_password": accounts["operator"]["password"],
                        "wsman_winrm_sim_localadmin_password": accounts["localadmin"]["password"],
                        **({"wsman_winrm_sim_realm": authmod.kerberos_config().realm}
                           if authmod.kerberos_config() else {}),
                    },
                    "children": groups,
                }
            }
        }
    }


class InventoryWriter:
    """The fleet's inventory file, kept current as listeners change, at a cost that does not grow
    with the fleet per change: a host's variables are rebuilt only when its ports change, and
    changes that arrive while a write is under way are written together by the next one. A change
    returns once a write that includes it has finished, so the reply that changed a host's ports is
    sent after the file says so (tests and reruns read it right after)."""

    def __init__(self, path: str, server, specs: list[dict], accounts: dict, pki: PKI):
        self.path, self.server, self.specs, self.accounts, self.pki = path, server, specs, accounts, pki
        self._specs = {id(entry): spec for spec, entry in zip(specs, server.entries)}
        self._known: dict[str, dict] = {}
        self._condition = threading.Condition()
        self._changes = self._written = 0
        self._writing = False

    def changed(self, entry=None) -> None:
        """Ports of ``entry`` changed (None: build every host, e.g. at start); write the file."""
        if entry is None:
            rebuilt = {spec["name"]: host_vars(spec, item, self.accounts, self.pki)
                       for spec, item in zip(self.specs, self.server.entries)}
        else:
            spec = self._specs[id(entry)]
            rebuilt = {spec["name"]: host_vars(spec, entry, self.accounts, self.pki)}
        with self._condition:
            self._known.update(rebuilt)
            self._changes += 1
            mine = self._changes
            while self._written < mine:
                if self._writing:
                    self._condition.wait()
                    continue
                self._writing, target = True, self._changes
                inventory = build_inventory(self.server, self.specs, self.accounts, self.pki, dict(self._known))
                self._condition.release()
                try:
                    write_inventory(self.path, inventory)
                finally:
                    self._condition.acquire()
                    self._writing, self._written = False, target
                    self._condition.notify_all()


def write_inventory(path: str, inventory: dict) -> None:
    text = "# Written by winrm-sim; rewritten when listeners change.\n" + "\n".join(_yaml(inventory)) + "\n"
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# -- serve ------------------------------------------------------------------------------------------

def _wait_accepting(server, deadline: float) -> bool:
    """True once every bound port completes a TCP connect, or drops the SYN (the host's firewall
    filters it: the socket is listening)."""
    pending = [(entry.host.address, port) for entry in server.entries for port in entry.port_map.values()]
    for _attempt in range(100):
        still = []
        for address, port in pending:
            try:
                with socket.create_connection((address, port), timeout=0.5):
                    pass
            except socket.timeout:
                pass
            except OSError:
                still.append((address, port))
        pending = still
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return not pending


def serve(args) -> int:
    from winrm_sim.server import SimServer

    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    inventory_path = os.path.abspath(args.inventory or os.path.join(state_dir, "inventory.yml"))
    profiles = [p.strip() for p in args.profile.split(",") if p.strip()]
    if args.engine == "real":
        from winrm_sim.profiles import PROFILES
        unknown = [p for p in profiles if p.partition("@")[0] not in PROFILES
                   or p.partition("@")[2].lower() not in ("", "public", "private")]
        if unknown:
            print(f"unknown profile(s) {', '.join(unknown)}; choose from {', '.join(PROFILES)}, optionally "
                  "followed by @public or @private (the network location)", file=sys.stderr)
            return 2
    if args.keytab:
        try:
            authmod.configure_kerberos(args.keytab, args.realm, args.domain_suffix,
                                       _kerberos_accounts(args.kerberos_account, args.realm),
                                       replay_cache_dir=state_dir)
        except (OSError, ValueError) as exc:
            print(f"--keytab: {exc}", file=sys.stderr)
            return 2
    accounts = load_accounts(state_dir, args.password)
    specs = plan_fleet(state_dir, args.hosts, profiles, args.base_address)
    pki = PKI(state_dir)
    kerberos = authmod.kerberos_config()   # a domain member's machine certificates name its FQDN
    stores = {spec["name"]: pki.host_store(spec["name"], spec["address"],
                                           kerberos.fqdn_of(spec["name"]) if kerberos else None) for spec in specs}
    new = {spec["name"] for spec in specs if not os.path.exists(os.path.join(state_dir, f"{spec['name']}.json"))}
    hosts = [make_host(spec, state_dir, stores[spec["name"]], accounts, args.engine) for spec in specs]
    for spec, host in zip(specs, hosts):
        if not hasattr(host, "configure_network"):
            continue  # the stand-in engine has no network
        # The profile's network location applies to a new host; the options to every host, every start.
        category = args.network_category or (spec.get("network") if spec["name"] in new else None)
        local_subnet = [t.strip() for t in args.local_subnet.split(",")] if args.local_subnet else None
        if category or local_subnet:
            try:
                host.configure_network(category.capitalize() if category else None, local_subnet)
            except ValueError as exc:
                print(f"{spec['name']}: {exc}", file=sys.stderr)
                return 2
    # Before any acceptor exists: pyspnego reads the variable when an acceptor is created.
    authmod.write_ntlm_user_file(os.path.join(state_dir, NTLM_FILE), hosts)

    server = SimServer(hosts, pki, stores, allow_port_fallback=not args.no_port_fallback)
    inventory = InventoryWriter(inventory_path, server, specs, accounts, pki)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server.start()
    server.on_ports_changed = inventory.changed
    for entry in server.entries:
        for problem in entry.problems:
            log.warning("%s: %s", entry.host.name, problem)
    inventory.changed()
    if not _wait_accepting(server, time.monotonic() + 30):
        print("some listeners do not accept connections", file=sys.stderr)
    pid_path = os.path.join(state_dir, certctl.PID_FILE)
    with open(pid_path, "w", encoding="ascii") as handle:
        handle.write(str(os.getpid()))
    print(f"READY {inventory_path}", flush=True)
    hosts_by_name = {host.name: host for host in hosts if hasattr(host, "local_change")}
    try:
        while not stop.wait(0.2):
            certctl.answer_pending(state_dir, hosts_by_name, pki)   # `winrm-sim cert` requests
    finally:
        try:
            os.unlink(pid_path)
        except OSError:
            pass
        server.stop()
    return 0


def cert_command(args) -> int:
    """``winrm-sim cert``: see winrm_sim.certctl."""
    state_dir = os.path.abspath(args.state_dir)
    request = {key: value for key, value in vars(args).items()
               if key not in ("command", "state_dir", "log_level", "func") and value is not None}
    request["host"] = args.host
    if certctl.serving_pid(state_dir) is not None:
        answer = certctl.submit(state_dir, request)
    else:
        answer = _cert_offline(state_dir, request)
    print(json.dumps(answer, sort_keys=True))
    return 1 if "error" in answer else 0


def _cert_offline(state_dir: str, request: dict) -> dict:
    path = os.path.join(state_dir, ROSTER_FILE)
    if not os.path.exists(path):
        return {"error": f"no fleet in {state_dir}"}
    with open(path, encoding="utf-8") as handle:
        spec = next((h for h in json.load(handle)["hosts"] if h["name"] == request["host"]), None)
    if spec is None:
        return {"error": f"no host {request['host']!r} in {state_dir}"}
    pki = PKI(state_dir)
    host = make_host(spec, state_dir, pki.host_store(spec["name"], spec["address"]),
                     load_accounts(state_dir, None), "real")
    try:
        return host.local_change(lambda: certctl.apply(host, pki, request))
    except (ValueError, certctl.NotInStore) as error:
        return {"error": str(error)}


def _kerberos_accounts(pairs: list[str] | None, realm: str) -> dict | None:
    """``--kerberos-account PRINCIPAL=ACCOUNT`` options as a dict (None: the default mapping)."""
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        principal, sep, account = pair.partition("=")
        if not sep or not principal or not account:
            raise ValueError(f"--kerberos-account {pair!r}: expected PRINCIPAL=ACCOUNT")
        mapping[principal if "@" in principal else f"{principal}@{realm.upper()}"] = account
    return mapping


def ls_state(args) -> int:
    state_dir = os.path.abspath(args.state_dir)
    path = os.path.join(state_dir, ROSTER_FILE)
    if not os.path.exists(path):
        print(f"no fleet in {state_dir}", file=sys.stderr)
        return 1
    with open(path, encoding="utf-8") as handle:
        roster = json.load(handle)["hosts"]
    for spec in roster:
        state_file = os.path.join(state_dir, f"{spec['name']}.json")
        listeners = ""
        if os.path.exists(state_file):
            try:
                with open(state_file, encoding="utf-8") as handle:
                    state = json.load(handle)
                found = state.get("listeners") or state.get("config", {}).get("listeners") or []
                listeners = " ".join(f"{item.get('Transport', '?')}/{item.get('Port', '?')}" for item in found
                                     if isinstance(item, dict))
            except (OSError, ValueError):
                listeners = "(unreadable state)"
        print(f"{spec['name']:<14} {spec['address']:<15} {spec['profile']:<12} {listeners}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="winrm-sim", description="Simulated Windows WinRM hosts on loopback")
    parser.add_argument("--log-level", default=os.environ.get("WINRM_SIM_LOG", "WARNING"))
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run a fleet until SIGTERM/SIGINT")
    p_serve.add_argument("--hosts", type=int, default=1)
    p_serve.add_argument("--profile", default="server2022", help="profile or comma-separated profiles, cycled")
    p_serve.add_argument("--state-dir", required=True)
    p_serve.add_argument("--inventory", help="YAML inventory to write (default: <state-dir>/inventory.yml)")
    p_serve.add_argument("--base-address", default=DEFAULT_BASE)
    p_serve.add_argument("--password", help="Administrator password (default: generated once, kept in the state dir)")
    p_serve.add_argument("--no-port-fallback", action="store_true",
                         help="fail a listener whose port cannot be bound instead of mapping it elsewhere")
    p_serve.add_argument("--keytab", help="keytab with the hosts' HTTP/ and WSMAN/ <name>.<suffix> SPNs: "
                         "enables Kerberos (otherwise hosts act as workgroup members)")
    p_serve.add_argument("--realm", default="WSMAN.TEST", help="Kerberos realm of --keytab (default WSMAN.TEST)")
    p_serve.add_argument("--domain-suffix", help="DNS suffix of the host names (default: the realm in lower case)")
    p_serve.add_argument("--kerberos-account", action="append", metavar="PRINCIPAL=ACCOUNT",
                         help="map a Kerberos client to a local account (repeatable; default "
                              "ansible@<REALM>=Administrator, a domain admin)")
    p_serve.add_argument("--network-category", type=str.capitalize, choices=("Public", "Private"),
                         help="network location of every (workgroup) host: its firewall profile (default: a "
                              "host's own, Public for a new one; profiles may say PROFILE@private)")
    p_serve.add_argument("--local-subnet", help="comma-separated networks the firewall's LocalSubnet means for "
                         "every host (default 127.0.0.0/8: a loopback controller is inside)")
    p_serve.add_argument("--engine", choices=("real", "stub"), default="real", help=argparse.SUPPRESS)
    p_ls = sub.add_parser("ls-state", help="list the hosts of a state dir")
    p_ls.add_argument("--state-dir", required=True)
    p_cert = sub.add_parser("cert", help="change a host's certificates as autoenrollment or an administrator "
                            "would (see winrm_sim.certctl)")
    p_cert.add_argument("--state-dir", required=True)
    p_cert.add_argument("--host", required=True, help="computer name, e.g. SIM-2022-01")
    p_cert.add_argument("action", choices=certctl.ACTIONS)
    p_cert.add_argument("--thumbprint", help="the certificate to renew, remove, corrupt or outlive")
    p_cert.add_argument("--days", type=int, help="renew/issue: valid until this many days from now "
                        "(negative: already expired); renew 1095, issue 365 by default")
    p_cert.add_argument("--template", help="the AUTO_ENROLL template name (renew: Machine)")
    p_cert.add_argument("--issuer", choices=("ca", "untrusted", "self"), help="issue: who signs it (default ca)")
    p_cert.add_argument("--eku", choices=("server", "client", "both"), help="issue: Enhanced Key Usage (default server)")
    p_cert.add_argument("--cn", help="issue: subject CN (default the computer name)")
    p_cert.add_argument("--dns", help="issue: comma-separated DNS SANs (default the computer name, and on a domain member its FQDN)")
    p_cert.add_argument("--no-key", action="store_true", default=None, help="issue: no private key in the store")
    p_cert.add_argument("--no-ip", action="store_true", default=None,
                        help="issue: no IP address SAN (a controller connecting by address refuses it)")
    p_cert.add_argument("--friendly-name", help="issue: FRIENDLY_NAME")
    p_cert.add_argument("--store", choices=("MY", "Root"), help="remove/corrupt: the store (default MY)")
    p_cert.add_argument("--how", choices=("truncate", "reserved"), help="corrupt: the damage (default truncate)")
    p_cert.add_argument("--address", help="outlive: the HTTPS listener's Address (default *)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        if args.hosts < 1:
            parser.error("--hosts must be at least 1")
        return serve(args)
    if args.command == "cert":
        return cert_command(args)
    return ls_state(args)


# -- a stand-in engine, for transport tests without the WS-Management engine -------------------------

class StubHost:
    """Implements the contract's SimHost surface with a fixed reply; listener and auth settings are
    plain attributes a test can change (then call ``on_listeners_changed``)."""

    REPLY = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/>'
             b'<s:Body><stub user="%s" auth="%s" encrypted="%s"/></s:Body></s:Envelope>')

    def __init__(self, name, address, profile, state_path, cert_store, accounts):
        from winrm_sim.server import __name__ as _  # noqa: F401 - same import order as the real engine
        self.name, self.address, self.profile = name, address, profile
        self.state_path, self.cert_store, self.accounts = state_path, cert_store, accounts
        self.lock = threading.RLock()
        self.on_listeners_changed = None
        self.auth = {"basic": False, "negotiate": True, "kerberos": True, "certificate": False, "credssp": False}
        self.unencrypted = False
        server_cert = cert_store.by_subject_cn(name)[0] if cert_store else None
        self.listeners = [_Listener("http", 5985, "wsman", "", ""),
                          _Listener("https", 5986, "wsman", server_cert.thumbprint if server_cert else "", "")]

    def active_listeners(self):
        return list(self.listeners)

    def auth_enabled(self, scheme):
        return self.auth.get(scheme.lower(), False)

    def allow_unencrypted(self):
        return self.unencrypted

    def cbt_hardening_level(self):
        return "Relaxed"

    def check_password(self, user, password):
        for name, account in self.accounts.items():
            if name.lower() == (user or "").lower() and account["password"] == password:
                return name
        return None

    def map_client_certificate(self, der, resource_uri):
        return "Administrator" if self.auth_enabled("certificate") else None

    def handle(self, body, principal):
        if b"stub-control" in body:        # lets a test flip settings over the wire
            command = body.split(b"stub-control:", 1)[1].split(b"<", 1)[0].decode()
            key, _sep, value = command.partition("=")
            with self.lock:
                if key == "unencrypted":
                    self.unencrypted = value == "true"
                elif key.startswith("auth."):
                    self.auth[key[5:]] = value == "true"
                elif key == "drop-http":
                    self.listeners = [l for l in self.listeners if l.transport != "http"]
                elif key == "add-http":
                    self.listeners.append(_Listener("http", int(value), "wsman", "", ""))
            if self.on_listeners_changed:
                self.on_listeners_changed()
        reply = self.REPLY % (principal.user.encode(), principal.auth.encode(), str(principal.encrypted).encode())
        return 200, reply


@dataclasses.dataclass(frozen=True)
class _Listener:
    transport: str
    port: int
    url_prefix: str
    thumbprint: str
    source: str


if __name__ == "__main__":
    sys.exit(main())


# -- running a fleet from Python (tests, benchmark) ---------------------------------------------------

class FleetProcess:
    """``winrm-sim serve`` as a child process: start, wait for READY, stop with SIGTERM.

    ``with FleetProcess(state_dir, hosts=3, profiles="server2022") as fleet: fleet.inventory``
    """

    def __init__(self, state_dir: str, hosts: int = 1, profiles: str = "server2022",
                 base_address: str = DEFAULT_BASE, password: str | None = None, engine: str = "real",
                 extra_args: list[str] | None = None, ready_timeout: float = 120.0):
        self.state_dir = os.path.abspath(state_dir)
        self.inventory_path = os.path.join(self.state_dir, "inventory.yml")
        self.args = ["serve", "--hosts", str(hosts), "--profile", profiles, "--state-dir", self.state_dir,
                     "--inventory", self.inventory_path, "--base-address", base_address, "--engine", engine]
        if password:
            self.args += ["--password", password]
        self.args += list(extra_args or [])
        self.ready_timeout = ready_timeout
        self.process = None
        self.stderr_path = os.path.join(self.state_dir, "serve.stderr")

    def start(self) -> "FleetProcess":
        import subprocess

        os.makedirs(self.state_dir, exist_ok=True)
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
        self._stderr = open(self.stderr_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "winrm_sim.cli", *self.args], env=env,
                                        stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        deadline = time.monotonic() + self.ready_timeout
        import selectors as _selectors
        selector = _selectors.DefaultSelector()
        selector.register(self.process.stdout, _selectors.EVENT_READ)
        try:
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.1, deadline - time.monotonic())):
                    continue
                line = self.process.stdout.readline()
                if not line:
                    break
                if line.startswith("READY "):
                    return self
        finally:
            selector.close()
        self.stop()
        with open(self.stderr_path, encoding="utf-8", errors="replace") as handle:
            tail = handle.read()[-4000:]
        raise RuntimeError(f"winrm-sim did not become ready:\n{tail}")

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def inventory(self) -> dict:
        import yaml

        with open(self.inventory_path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)

    def hosts(self) -> dict[str, dict]:
        """Host name -> host variables, group variables merged in."""
        windows = self.inventory["all"]["children"]["windows"]
        result = {}
        for group in windows["children"].values():
            for name, host_vars in group["hosts"].items():
                result[name] = {**windows.get("vars", {}), **host_vars}
        return result

    def cert(self, host: str, action: str, **options) -> dict:
        """``winrm-sim cert --host HOST ACTION --option value ...`` against this fleet: the JSON answer.
        Raises RuntimeError with the command's error."""
        import subprocess

        argv = [sys.executable, "-m", "winrm_sim.cli", "cert", "--state-dir", self.state_dir, "--host", host, action]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value is not None and value is not False:
                argv += [flag, str(value)]
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180, check=False)
        try:
            answer = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise RuntimeError(f"winrm-sim cert {action}: {done.stderr or done.stdout}") from None
        if "error" in answer:
            raise RuntimeError(f"winrm-sim cert {action}: {answer['error']}")
        return answer

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except Exception:
                self.process.kill()
                self.process.wait(5)
        self.process.stdout.close()
        self._stderr.close()
        code = self.process.returncode
        self.process = None
        return code

    def __enter__(self) -> "FleetProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
