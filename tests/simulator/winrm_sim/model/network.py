"""The network a simulated host is connected to: its location (the firewall profile) and what
counts as its local subnet.

- Location: "With the exception of domain networks, all networks are initially categorized as
  public" (Microsoft TechNet, "Network Location-Aware Host Firewall"); a computer that authenticates
  to its domain controller is on a DomainAuthenticated network, which cannot be set by hand
  (Set-NetConnectionProfile refuses it). Exposed as CIM ``MSFT_NetConnectionProfile``
  (root/StandardCimv2): NetworkCategory 0 = Public, 1 = Private, 2 = DomainAuthenticated.
- Local subnet: the firewall's ``LocalSubnet`` keyword means the subnets of the host's interfaces.
  Every simulated host sits on loopback, so which loopback addresses count is a per-host setting
  (``local_subnet``): a test plays a controller inside or outside the subnet by choosing it
  (``winrm-sim serve --local-subnet``), or by connecting from another loopback source address.
"""
from __future__ import annotations

import ipaddress
from typing import Callable

CATEGORIES = ("Public", "Private", "DomainAuthenticated")
PROFILE_BITS = {"DomainAuthenticated": 1, "Private": 2, "Public": 4}    # FW_PROFILE_TYPE (MS-FASP)
DEFAULT_LOCAL_SUBNET = ("127.0.0.0/8",)


def default_state() -> dict:
    return {"category": "Public", "local_subnet": list(DEFAULT_LOCAL_SUBNET), "name": "Network",
            "interface_alias": "Ethernet", "interface_index": 4}


class Network:
    def __init__(self, state: dict, domain_member: Callable[[], bool], on_change: Callable[[], None]):
        self._state = state
        self._domain_member = domain_member
        self._on_change = on_change

    @property
    def category(self) -> str:
        return "DomainAuthenticated" if self._domain_member() else self._state["category"]

    @property
    def profile_bit(self) -> int:
        return PROFILE_BITS[self.category]

    @property
    def profile_name(self) -> str:
        return {"DomainAuthenticated": "domain", "Private": "private", "Public": "public"}[self.category]

    def local_subnets(self) -> list:
        return [ipaddress.ip_network(text, strict=False) for text in self._state["local_subnet"]]

    def info(self) -> dict:
        return dict(self._state, category=self.category)

    def set_category(self, category: str) -> None:
        """Set-NetConnectionProfile -NetworkCategory: Public or Private only."""
        if category not in ("Public", "Private") or self._domain_member():
            raise ValueError(category)
        if category != self._state["category"]:
            self._state["category"] = category
            self._on_change()

    def configure(self, category: str | None = None, local_subnet: list[str] | None = None) -> None:
        """The simulator operator's settings (command line), applied at start."""
        if category is not None:
            if category not in ("Public", "Private"):
                raise ValueError(f"network category {category!r}: Public or Private (domain members are "
                                 "DomainAuthenticated by themselves)")
            self._state["category"] = category
        if local_subnet is not None:
            self._state["local_subnet"] = [str(ipaddress.ip_network(t, strict=False)) for t in local_subnet]
        self._on_change()
