# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible.builtin.winrm's execution with the endpoint chosen elsewhere: the one place that knows
its private hooks and attributes.

``wsman.winrm.winrm`` keeps ansible.builtin.winrm's shells, pipelining, put and fetch, and replaces
how the endpoint and pywinrm's arguments are chosen. ansible-core offers no public hook for that:
its ``_connect()`` calls ``_build_winrm_kwargs()`` then ``_winrm_connect()``, and the execution code
reads ``_winrm_host``, ``_winrm_kwargs`` and friends. This class fills those from a
``WinRMSettings`` a subclass computes, so an ansible-core upgrade that changes them breaks this file
and ``tests/unit/test_compat.py``, nothing else. (Third-party libraries: module_utils/compat.py.)
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible.plugins.connection.winrm import Connection as BuiltinWinRMConnection

# The ansible-core versions whose ansible.builtin.winrm this adapter was checked against.
SUPPORTED_ANSIBLE_CORE = ">=2.16,<2.20"


@dataclasses.dataclass
class WinRMSettings:
    """What ansible.builtin.winrm's execution needs to connect."""

    host: str
    port: int
    scheme: str
    path: str                     # with a leading slash, as ansible.builtin.winrm keeps it
    user: t.Optional[str]
    password: t.Optional[str] = dataclasses.field(repr=False)
    transport: str                # pywinrm's transport name
    kerberos_managed: bool        # kinit with the password into a private cache
    kinit_command: str
    protocol_kwargs: t.Dict[str, t.Any] = dataclasses.field(repr=False)


class BuiltinWinRMAdapter(BuiltinWinRMConnection):
    """Subclasses implement ``winrm_settings()`` (called before each connection) and
    ``open_protocol(settings)`` (returns pywinrm's Protocol with a shell open)."""

    settings: t.Optional[WinRMSettings] = None

    def winrm_settings(self) -> WinRMSettings:
        raise NotImplementedError

    def open_protocol(self, settings: WinRMSettings) -> t.Any:
        raise NotImplementedError

    def kinit(self, principal: str, password: t.Optional[str]) -> None:
        """ansible.builtin.winrm's managed Kerberos: kinit into a private credential cache."""
        self._kerb_auth(principal, password)

    # -- ansible.builtin.winrm's private hooks ------------------------------------------------------

    def _build_winrm_kwargs(self) -> None:
        settings = self.winrm_settings()
        self.settings = settings
        # The attributes ansible.builtin.winrm's execution code and its callers read.
        self._winrm_host = settings.host
        self._winrm_user = settings.user
        self._winrm_pass = settings.password
        self._winrm_port = settings.port
        self._winrm_scheme = settings.scheme
        self._winrm_path = settings.path
        self._winrm_connection_timeout = None  # folded into the protocol's timeouts
        self._kinit_cmd = settings.kinit_command
        self._winrm_transport = [settings.transport]
        self._kerb_managed = settings.kerberos_managed
        self._winrm_kwargs = settings.protocol_kwargs

    def _winrm_connect(self) -> t.Any:
        if self.settings is None:
            self._build_winrm_kwargs()
        return self.open_protocol(self.settings)

    def _connect(self) -> "BuiltinWinRMAdapter":
        if not self.protocol:
            self.settings = None  # options may have changed since (win_reboot's connection_timeout)
        return super()._connect()

    def reset(self) -> None:
        self.settings = None
        super().reset()

    def run_in_shell(self, command: str, args: t.Sequence[str]) -> t.Tuple[int, bytes, bytes]:
        """Run one command in the open shell (ansible.builtin.winrm's _winrm_exec)."""
        return self._winrm_exec(command, list(args))
