"""The registry of a simulated host (HKEY_LOCAL_MACHINE): keys, typed values, what can be written.

Stored as ``{key path: {value name: [type, data]}}`` with Windows' spelling; names compare
case-insensitively, as in the registry. REG_BINARY data is kept as base64 text (JSON state), REG_MULTI_SZ
as a list. Only the WinRM and UAC policy keys are writable (``WRITABLE_PREFIXES``); every other key
the simulator models (the LocalMachine certificate stores of ``certstores.py``) is read-only over
StdRegProv; the models that stand for Windows itself change them through the ``*_system_*`` methods.
"""
from __future__ import annotations

import base64
from typing import Callable

REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = (
    "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_MULTI_SZ", "REG_QWORD")
# winnt.h type numbers, what StdRegProv EnumValues returns in Types.
TYPE_NUMBERS = {REG_SZ: 1, REG_EXPAND_SZ: 2, REG_BINARY: 3, REG_DWORD: 4, REG_MULTI_SZ: 7, REG_QWORD: 11}

POLICY_ROOT = r"SOFTWARE\Policies\Microsoft\Windows"
WINRM_POLICY = POLICY_ROOT + r"\WinRM"
CLIENT_POLICY = WINRM_POLICY + r"\Client"
SERVICE_POLICY = WINRM_POLICY + r"\Service"
WINRS_POLICY = SERVICE_POLICY + r"\WinRS"
SYSTEM_POLICY = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
WRITABLE_PREFIXES = (WINRM_POLICY.lower(), SYSTEM_POLICY.lower())

# Win32 codes StdRegProv returns in ReturnValue.
SUCCESS, NOT_FOUND, ACCESS_DENIED = 0, 2, 5


def base_keys() -> dict:
    """Keys that exist on every install; WinRM policy keys appear only when a policy is applied."""
    return {
        "SOFTWARE": {},
        r"SOFTWARE\Policies": {},
        r"SOFTWARE\Policies\Microsoft": {},
        POLICY_ROOT: {},
        SYSTEM_POLICY: {"EnableLUA": [REG_DWORD, 1], "ConsentPromptBehaviorAdmin": [REG_DWORD, 5]},
    }


def set_policy(keys: dict, key: str, name: str, kind: str, data) -> None:
    """Write a value into a raw key table, creating the key path (used to build initial states)."""
    parts = key.split("\\")
    for index in range(1, len(parts) + 1):
        keys.setdefault("\\".join(parts[:index]), {})
    keys[key][name] = [kind, data]


class Registry:
    def __init__(self, keys: dict, on_change: Callable[[], None]):
        self._keys = keys
        self._on_change = on_change
        self.generation = 0      # bumped on every write: readers cache what they derive from it

    def _changed(self) -> None:
        self.generation += 1
        self._on_change()

    # -- reading
    def key(self, path: str) -> str | None:
        """The stored spelling of a key, or None."""
        wanted = path.strip("\\").lower()
        for key in self._keys:
            if key.lower() == wanted:
                return key
        return None

    def values(self, path: str) -> dict | None:
        key = self.key(path)
        return None if key is None else self._keys[key]

    def value(self, path: str, name: str) -> tuple[str, object] | None:
        """(type, data) of a value, or None."""
        values = self.values(path)
        if values is None:
            return None
        for value_name, (kind, data) in values.items():
            if value_name.lower() == name.lower():
                return kind, decode(kind, data)
        return None

    def dword(self, path: str, name: str) -> int | None:
        entry = self.value(path, name)
        return int(entry[1]) if entry is not None and entry[0] == REG_DWORD else None

    def string(self, path: str, name: str) -> str | None:
        entry = self.value(path, name)
        return None if entry is None else str(entry[1])

    def subkeys(self, path: str) -> list[str]:
        prefix = path.strip("\\").lower() + "\\"
        names = [key[len(prefix):] for key in self._keys
                 if key.lower().startswith(prefix) and "\\" not in key[len(prefix):]]
        return sorted(names, key=str.lower)

    @staticmethod
    def writable(path: str) -> bool:
        lower = path.strip("\\").lower()
        return any(lower == prefix or lower.startswith(prefix + "\\") for prefix in WRITABLE_PREFIXES)

    # -- writing; each returns the Win32 code StdRegProv reports
    def set_value(self, path: str, name: str, kind: str, data) -> int:
        key = self.key(path)
        if key is None:
            return NOT_FOUND  # the key must exist (CreateKey first), as with RegOpenKeyEx
        if not self.writable(key):
            return ACCESS_DENIED
        values = self._keys[key]
        for value_name in [n for n in values if n.lower() == name.lower()]:
            del values[value_name]
        values[name] = [kind, encode(kind, data)]
        self._changed()
        return SUCCESS

    def delete_value(self, path: str, name: str) -> int:
        key = self.key(path)
        if key is None:
            return NOT_FOUND
        values = self._keys[key]
        for value_name in values:
            if value_name.lower() == name.lower():
                if not self.writable(key):
                    return ACCESS_DENIED
                del values[value_name]
                self._changed()
                return SUCCESS
        return NOT_FOUND

    def create_key(self, path: str) -> int:
        path = path.strip("\\")
        if not path:
            return NOT_FOUND
        if self.key(path) is not None:
            return SUCCESS
        if not self.writable(path):
            return ACCESS_DENIED
        parts = path.split("\\")
        for index in range(1, len(parts) + 1):
            partial = "\\".join(parts[:index])
            if self.key(partial) is None:
                self._keys[partial] = {}
        self._changed()
        return SUCCESS

    # -- the operating system's own writes (the certificate store provider, autoenrollment): no
    # StdRegProv access check, since Windows itself, not the remote caller, changes these keys
    def put_system_key(self, path: str) -> None:
        parts = path.strip("\\").split("\\")
        created = False
        for index in range(1, len(parts) + 1):
            partial = "\\".join(parts[:index])
            if self.key(partial) is None:
                self._keys[partial] = {}
                created = True
        if created:
            self._changed()

    def put_system_value(self, path: str, name: str, kind: str, data) -> None:
        self.put_system_key(path)
        values = self._keys[self.key(path)]
        for value_name in [n for n in values if n.lower() == name.lower()]:
            del values[value_name]
        values[name] = [kind, encode(kind, data)]
        self._changed()

    def delete_system_key(self, path: str) -> bool:
        """Delete a key and its subkeys; False when it does not exist."""
        key = self.key(path)
        if key is None:
            return False
        prefix = key.lower() + "\\"
        for name in [k for k in self._keys if k == key or k.lower().startswith(prefix)]:
            del self._keys[name]
        self._changed()
        return True

    def delete_key(self, path: str) -> int:
        key = self.key(path)
        if key is None:
            return NOT_FOUND
        if not self.writable(key) or self.subkeys(key):
            return ACCESS_DENIED  # RegDeleteKey refuses keys with subkeys
        del self._keys[key]
        self._changed()
        return SUCCESS


def encode(kind: str, data):
    if kind == REG_BINARY:
        return base64.b64encode(bytes(data)).decode("ascii")
    return list(data) if kind == REG_MULTI_SZ else data


def decode(kind: str, data):
    if kind == REG_BINARY:
        return base64.b64decode(data)
    return data
