"""A simulated Windows host: its component models, their persistence, and the entry point the
transport calls for every request.

The models (``winrm_sim.model``) own the state; the protocol layer (``winrm_sim.protocol``) maps
requests onto them; the transport (``server.py``, ``auth.py``) asks this class what to listen on,
what the firewall admits, and who may log on. Every public method takes ``self.lock``.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import logging
import threading
from typing import Callable

from . import profiles, state as state_file
from .model.accounts import Accounts, Principal
from .model.certmappings import CertMappings
from .model.certstores import MachineCertificates
from .model.config import ConfigTree
from .model.firewall import Firewall
from .model.listeners import ActiveListener, Listeners
from .model.network import Network
from .model.plugins import SessionConfigurations
from .model.policy import GroupPolicy
from .model.registry import Registry
from .model.shell import Shells
from .model.system import System
from .protocol import dispatch
from .protocol.enumeration import Enumerations

log = logging.getLogger(__name__)

__all__ = ["ActiveListener", "NetworkView", "Principal", "SimHost"]

# Ports whose firewall decision the transport enforces even with nothing listening: WinRM's
# defaults, old and new (a filtered port must time out, not refuse).
WINRM_PORTS = (80, 443, 5985, 5986)


@dataclasses.dataclass(frozen=True)
class NetworkView:
    """What the transport must do: the listeners to serve, and per port the IPv4 source ranges the
    firewall admits (an empty tuple: filtered for everyone)."""
    listeners: tuple[ActiveListener, ...]
    admitted: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]

    def admitted_ranges(self, port: int):
        return dict(self.admitted).get(port, ())


class SimHost:
    def __init__(self, name, address, profile, state_path, cert_store, accounts, domain=None):
        """``cert_store``: the certificates the PKI issued to this host; a new host's registry
        stores (LocalMachine MY and Root) start with them, and from then on the registry is the store."""
        self.name = name
        self.address = address
        self.state_path = state_path
        self.lock = threading.RLock()
        # Called (outside the lock) when the listeners or the firewall's decisions changed.
        self.on_listeners_changed: Callable[[], None] | None = None
        loaded = state_file.load(state_path)
        if loaded is None:
            loaded = profiles.build_state(profile, name, cert_store)
            self._dirty = True
        else:
            self._dirty = loaded.get("version", 1) < state_file.VERSION
            state_file.migrate(loaded, name)
        self.state = loaded
        self.profile = loaded.get("profile", profile)

        self.accounts = dict(accounts or {})
        self.system = System(name, self.profile, domain)
        self.registry = Registry(loaded["registry"], self._changed)
        self.cert_store = MachineCertificates(self.registry, name, seed=cert_store)
        self.policy = GroupPolicy(self.registry)
        self.config = ConfigTree(loaded["config"], self.policy, self.cert_store, self._changed)
        self.users = Accounts(name, self.accounts, self.policy, loaded["groups"])
        self.plugins = SessionConfigurations(self.registry, self.policy, self.users, loaded["plugin_run_as"],
                                             self._changed)
        self.network = Network(loaded["network"], lambda: self.system.domain_member, self._changed)
        self.firewall = Firewall(loaded["firewall"], self.network, address, self._changed)
        self.listeners = Listeners(loaded["listeners"], self.config, self.host_addresses, name, self.cert_store,
                                   self._changed)
        self.certmappings = CertMappings(loaded["certmappings"], self.users, self.cert_store, self._changed)
        # Volatile service state (lost on restart, as on Windows).
        self.shells = Shells()
        self.enumerations = Enumerations(self.config)
        self._view: NetworkView | None = None
        self.save_if_changed()

    def _changed(self) -> None:
        self._dirty = True

    # ----- persistence
    def save_if_changed(self) -> bool:
        with self.lock:
            if not self._dirty:
                return False
            state_file.write_atomic(self.state_path, state_file.dump(self.state))
            self._dirty = False
            return True

    # ----- the protocol
    def handle(self, body: bytes, principal: Principal) -> tuple[int, bytes]:
        """(HTTP status, reply); never raises."""
        with self.lock:
            before, compat_was_on = self._safely(lambda: (self.network_view(), self._compat_http_on()),
                                                 (None, True))
            status, reply = dispatch.handle_request(self, body, principal)
            after = before
            if self._dirty:
                self._safely(self._after_change, None, compat_was_on)
                after = self._safely(self.network_view, None)
        if before != after and self.on_listeners_changed is not None:
            self._safely(self.on_listeners_changed, None)
        return status, reply

    def _after_change(self, compat_was_on: bool) -> None:
        if not compat_was_on and self._compat_http_on():
            self.firewall.compatibility_listener_turned_on()
        self._view = None
        self.save_if_changed()

    def _safely(self, function, default, *args):
        try:
            return function(*args)
        except Exception:  # noqa: BLE001 - a simulator bug must not break the reply
            log.exception("%s: %s failed", self.name, getattr(function, "__name__", "callback"))
            return default

    def _compat_http_on(self) -> bool:
        return self.config.flag(("Service", "EnableCompatibilityHttpListener"))

    # ----- what the transport needs
    def network_view(self) -> NetworkView:
        with self.lock:
            if self._view is None:
                listeners = tuple(self.listeners.active(self.address))
                ports = set(WINRM_PORTS) | {listener.port for listener in listeners}
                for name in ("HTTP", "HTTPS"):
                    ports.add(self.config.number(("Service", "DefaultPorts", name), 0))
                ports.discard(0)
                self._view = NetworkView(listeners, tuple(
                    (port, tuple(self.firewall.admitted_ranges(port))) for port in sorted(ports)))
            return self._view

    def active_listeners(self) -> list[ActiveListener]:
        return list(self.network_view().listeners)

    def host_addresses(self) -> list:
        addresses = []
        for text in (self.address, "127.0.0.1", "::1"):
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address not in addresses:
                addresses.append(address)
        return addresses

    def effective_value(self, path: tuple[str, ...]) -> str:
        with self.lock:
            return self.config.effective(path)

    def auth_enabled(self, scheme: str) -> bool:
        leaf = {"basic": "Basic", "negotiate": "Negotiate", "ntlm": "Negotiate", "kerberos": "Kerberos",
                "certificate": "Certificate", "credssp": "CredSSP"}.get((scheme or "").lower())
        if leaf is None:
            return False
        with self.lock:
            return self.config.flag(("Service", "Auth", leaf))

    def allow_unencrypted(self) -> bool:
        with self.lock:
            return self.config.flag(("Service", "AllowUnencrypted"))

    def cbt_hardening_level(self) -> str:
        with self.lock:
            return self.config.effective(("Service", "Auth", "CbtHardeningLevel"))

    def max_envelope_bytes(self) -> int:
        return self.config.number(("MaxEnvelopeSizekb",), 500) * 1024

    def canonical_account(self, user: str) -> str | None:
        return self.users.canonical(user)

    def check_password(self, user, password) -> str | None:
        with self.lock:
            return self.users.check_password(user, password)

    def authorized(self, principal: Principal, access: str, sddl: str | None = None) -> bool:
        """Against ``sddl`` (a plugin's descriptor), or RootSDDL when None."""
        with self.lock:
            return self.users.authorized(principal, sddl or self.config.effective(("Service", "RootSDDL")), access)

    def is_administrator(self, principal: Principal) -> bool:
        """Whether the logon's token holds Administrators (UAC remote restrictions applied)."""
        with self.lock:
            account = self.users.canonical(principal.user)
            return account is not None and self.users.effective_admin(account, principal.remote)

    def map_client_certificate(self, der: bytes, resource_uri: str) -> str | None:
        with self.lock:
            return self.certmappings.account_for(der, resource_uri)

    def local_change(self, function):
        """Run ``function()`` as a change made on the host itself, not over WS-Management (the
        certificate store's autoenrollment, an administrator at the console); returns its result.
        The transport re-reads the listeners and their certificates afterwards."""
        try:
            with self.lock:
                try:
                    return function()
                finally:
                    self._view = None
                    self.save_if_changed()
        finally:
            if self.on_listeners_changed is not None:   # outside the lock, as after a request
                self._safely(self.on_listeners_changed, None)

    def configure_network(self, category: str | None = None, local_subnet: list[str] | None = None) -> None:
        with self.lock:
            self.network.configure(category, local_subnet)
            self._view = None
            self.save_if_changed()
