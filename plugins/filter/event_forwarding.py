# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event forwarding across WinRM 1.1 and 2.0: ``collector_initiated``, ``source_initiated`` and
``collector_url`` (docs: the .yml files beside).

The three event-forwarding tables of Microsoft, "Details on secure port configuration for
WS-Management in Windows 7 and Windows Server 2008 R2", as data: one row per (collector state,
source state), each cell's words kept beside the value derived from it, so the answers follow the
article cell by cell (including the "existing subscriptions" column).

States: ``new`` (a new WinRM 2.0 installation: listens and connects on 5985/5986), ``winrm11``
(WinRM 1.1: 80/443), ``upgraded`` (upgraded from 1.1: 5985/5986, plus compatibility listeners on
80/443 when it had listeners there).
"""

from __future__ import annotations

import ipaddress
import typing as t

from ansible.errors import AnsibleFilterError

WINRM_STATES = ("new", "winrm11", "upgraded")

# Outcomes of the "existing subscriptions" column.
WORKS = "works"
UPDATE = "update"
NOT_APPLICABLE = "not_applicable"

WORKS_TEXT = "The event forwarding works correctly."

# Collector-initiated PUSH/PULL subscriptions: the collector connects to each source.
# (collector, source): existing-subscriptions cell, new-subscriptions cell, and what they mean:
# the existing outcome, the port new subscriptions reach the source on, and whether it must be named.
COLLECTOR_INITIATED_TITLE = "Collector-initiated PUSH/PULL subscriptions"
COLLECTOR_INITIATED: t.Dict[t.Tuple[str, str], t.Dict[str, t.Any]] = {
    ("new", "new"): {
        "existing_text": "Not Applicable", "new_text": WORKS_TEXT,
        "existing": NOT_APPLICABLE, "port": 5985, "explicit": False},
    ("new", "winrm11"): {
        "existing_text": "Not Applicable", "new_text": "Need to specify port 80 for HTTP explicitly.",
        "existing": NOT_APPLICABLE, "port": 80, "explicit": True},
    ("new", "upgraded"): {
        "existing_text": "Not Applicable", "new_text": WORKS_TEXT,
        "existing": NOT_APPLICABLE, "port": 5985, "explicit": False},
    ("winrm11", "new"): {
        # The article says "for HTTPS"; 5985 is WinRM 2.0's HTTP port, so the port is what counts here.
        "existing_text": "Update subscriptions on the collector to add the port 5985 for HTTPS.",
        "new_text": "Need to specify port 5985 explicitly.",
        "existing": UPDATE, "existing_change": "add port 5985", "port": 5985, "explicit": True},
    ("winrm11", "winrm11"): {
        "existing_text": WORKS_TEXT, "new_text": WORKS_TEXT, "existing": WORKS, "port": 80, "explicit": False},
    ("winrm11", "upgraded"): {
        # The upgraded source keeps answering on 80 through its compatibility listener.
        "existing_text": WORKS_TEXT, "new_text": WORKS_TEXT, "existing": WORKS, "port": 80, "explicit": False},
    ("upgraded", "new"): {
        "existing_text": "Update subscriptions on the collector to add the port 5985 for HTTPS.",
        "new_text": WORKS_TEXT,
        "existing": UPDATE, "existing_change": "add port 5985", "port": 5985, "explicit": False},
    ("upgraded", "winrm11"): {
        "existing_text": WORKS_TEXT, "new_text": "Need to specify port 80 for HTTP explicitly.",
        "existing": WORKS, "port": 80, "explicit": True},
    ("upgraded", "upgraded"): {
        "existing_text": WORKS_TEXT, "new_text": WORKS_TEXT, "existing": WORKS, "port": 5985, "explicit": False},
}

# Source-initiated PUSH subscriptions: each source connects to the collector named by Server=.
# Two tables, by how existing subscriptions name the collector. "{fqdn}" is the collector's name.
FQDN = "{fqdn}"
HTTP = "http://{fqdn}"
HTTP_5985 = "http://{fqdn}:5985"
EITHER_TEXT = "Can specify the collector as Server=http://<FQDN>:5985 or Server=<FQDN>"
NEED_5985_TEXT = "Need to specify the collector as Server=http://<FQDN>:5985"
NEED_HTTP_TEXT = "Need to specify the collector as Server=http://<FQDN>"
UPDATE_HTTP_TEXT = "Update collector info on the source to Server=http://<FQDN>"

SOURCE_INITIATED_TITLES = {
    "fqdn": "Source-initiated PUSH subscriptions with existing subscriptions specifying collector as Server=<FQDN>",
    "http": "Source-initiated PUSH subscriptions with existing subscriptions specifying collector as "
            "Server=http://<FQDN>",
}
# (existing form, collector, source): cells, existing outcome (and the Server= to change it to),
# and the Server= values new subscriptions can use (a "works correctly" cell: the table's own form).
SOURCE_INITIATED: t.Dict[t.Tuple[str, str, str], t.Dict[str, t.Any]] = {
    ("fqdn", "new", "new"): {"existing_text": "Not Applicable", "new_text": EITHER_TEXT,
                             "existing": NOT_APPLICABLE, "new": [HTTP_5985, FQDN]},
    ("fqdn", "new", "winrm11"): {"existing_text": "Not Applicable", "new_text": NEED_5985_TEXT,
                                 "existing": NOT_APPLICABLE, "new": [HTTP_5985]},
    ("fqdn", "new", "upgraded"): {"existing_text": "Not Applicable", "new_text": EITHER_TEXT,
                                  "existing": NOT_APPLICABLE, "new": [HTTP_5985, FQDN]},
    ("fqdn", "winrm11", "new"): {"existing_text": UPDATE_HTTP_TEXT, "new_text": NEED_HTTP_TEXT,
                                 "existing": UPDATE, "existing_server": HTTP, "new": [HTTP]},
    ("fqdn", "winrm11", "winrm11"): {"existing_text": WORKS_TEXT, "new_text": WORKS_TEXT,
                                     "existing": WORKS, "new": [FQDN]},
    ("fqdn", "winrm11", "upgraded"): {"existing_text": UPDATE_HTTP_TEXT, "new_text": NEED_HTTP_TEXT,
                                      "existing": UPDATE, "existing_server": HTTP, "new": [HTTP]},
    ("fqdn", "upgraded", "new"): {"existing_text": WORKS_TEXT, "new_text": WORKS_TEXT,
                                  "existing": WORKS, "new": [FQDN]},
    ("fqdn", "upgraded", "winrm11"): {"existing_text": WORKS_TEXT, "new_text": WORKS_TEXT,
                                      "existing": WORKS, "new": [FQDN]},
    ("fqdn", "upgraded", "upgraded"): {"existing_text": WORKS_TEXT, "new_text": WORKS_TEXT,
                                       "existing": WORKS, "new": [FQDN]},
    # The article writes "Not Available" in this one cell, "Not Applicable" in the others.
    ("http", "new", "new"): {"existing_text": "Not Available", "new_text": EITHER_TEXT,
                             "existing": NOT_APPLICABLE, "new": [HTTP_5985, FQDN]},
    ("http", "new", "winrm11"): {"existing_text": "Not Applicable", "new_text": NEED_5985_TEXT,
                                 "existing": NOT_APPLICABLE, "new": [HTTP_5985]},
    ("http", "new", "upgraded"): {"existing_text": "Not Applicable", "new_text": EITHER_TEXT,
                                  "existing": NOT_APPLICABLE, "new": [HTTP_5985, FQDN]},
    ("http", "winrm11", "new"): {"existing_text": UPDATE_HTTP_TEXT, "new_text": NEED_HTTP_TEXT,
                                 "existing": UPDATE, "existing_server": HTTP, "new": [HTTP]},
    ("http", "winrm11", "winrm11"): {"existing_text": WORKS_TEXT, "new_text": WORKS_TEXT,
                                     "existing": WORKS, "new": [HTTP]},
    ("http", "winrm11", "upgraded"): {"existing_text": UPDATE_HTTP_TEXT, "new_text": NEED_HTTP_TEXT,
                                      "existing": UPDATE, "existing_server": HTTP, "new": [HTTP]},
    ("http", "upgraded", "new"): {"existing_text": WORKS_TEXT, "new_text": EITHER_TEXT,
                                  "existing": WORKS, "new": [HTTP_5985, FQDN]},
    ("http", "upgraded", "winrm11"): {"existing_text": WORKS_TEXT, "new_text": NEED_5985_TEXT,
                                      "existing": WORKS, "new": [HTTP_5985]},
    ("http", "upgraded", "upgraded"): {"existing_text": WORKS_TEXT, "new_text": EITHER_TEXT,
                                       "existing": WORKS, "new": [HTTP_5985, FQDN]},
}


def _host(value: t.Any, filter_name: str, what: str) -> str:
    name = str(value or "").strip()
    if not name or "://" in name or "/" in name:
        raise AnsibleFilterError("wsman.winrm.%s expects the %s (wec01.example.com), got %r" % (filter_name, what, value))
    try:
        ipaddress.IPv6Address(name.strip("[]"))
        return "[%s]" % name.strip("[]")
    except ValueError:
        return name


def _states(filter_name: str, collector: t.Any, source: t.Any) -> None:
    for label, state in (("collector", collector), ("source", source)):
        if state not in WINRM_STATES:
            raise AnsibleFilterError("wsman.winrm.%s: %s must be one of %s, got %r"
                                     % (filter_name, label, ", ".join(WINRM_STATES), state))


def collector_initiated(source_host: str, collector: str = "new", source: str = "new") -> t.Dict[str, t.Any]:
    """Source host -> how a collector-initiated subscription must reach it, and whether existing ones need updating."""
    host = _host(source_host, "collector_initiated", "event source's host name")
    _states("collector_initiated", collector, source)
    row = COLLECTOR_INITIATED[(collector, source)]
    return {
        "table": COLLECTOR_INITIATED_TITLE, "collector": collector, "source": source,
        "source_host": host, "port": row["port"], "port_explicit": row["explicit"],
        "url": "http://%s:%d/wsman" % (host, row["port"]),
        "existing_subscriptions": row["existing"], "existing_change": row.get("existing_change"),
        "article": {"existing_subscriptions": row["existing_text"], "new_subscriptions": row["new_text"]},
    }


def _existing_form(value: t.Any, fqdn: str) -> str:
    """'fqdn' / 'http', or an existing Server= value classified into one of them."""
    text = str(value or "").strip()
    if text in SOURCE_INITIATED_TITLES:
        return text
    lowered = text.lower().rstrip("/")
    if lowered == fqdn.lower():
        return "fqdn"
    if lowered in ("http://" + fqdn.lower(), "http://%s:80" % fqdn.lower()):
        return "http"
    raise AnsibleFilterError(
        "wsman.winrm.source_initiated: existing must be 'fqdn' (subscriptions name the collector as "
        "Server=<FQDN>), 'http' (Server=http://<FQDN>) or such a Server= value for %s, got %r; the article's "
        "tables cover only these two forms" % (fqdn, value))


def source_initiated(collector_fqdn: str, collector: str = "new", source: str = "new",
                     existing: str = "fqdn") -> t.Dict[str, t.Any]:
    """Collector FQDN -> the Server= value for new subscriptions and what existing ones need, per the matching table."""
    fqdn = _host(collector_fqdn, "source_initiated", "collector's FQDN")
    _states("source_initiated", collector, source)
    form = _existing_form(existing, fqdn)
    row = SOURCE_INITIATED[(form, collector, source)]
    current = FQDN if form == "fqdn" else HTTP
    values = [v.format(fqdn=fqdn) for v in row["new"]]
    # The table's own form when the cell allows it (no change for new subscriptions), else the cell's first value.
    chosen = current.format(fqdn=fqdn) if current in row["new"] else values[0]
    target = row.get("existing_server")
    return {
        "table": SOURCE_INITIATED_TITLES[form], "collector": collector, "source": source,
        "server": chosen, "alternatives": values,
        "existing_subscriptions": row["existing"],
        "existing_server": None if target is None else target.format(fqdn=fqdn),
        # One cell asks to update Server=http://<FQDN> subscriptions to Server=http://<FQDN>: say so.
        "existing_already_match": None if target is None else target == current,
        "article": {"existing_subscriptions": row["existing_text"], "new_subscriptions": row["new_text"]},
    }


def _works_for_new(row: t.Dict[str, t.Any], server: str) -> bool:
    """A Server= value new subscriptions can use in this table's row ("works correctly": any form the table has)."""
    return row["article"]["new_subscriptions"] == WORKS_TEXT or server in row["alternatives"]


def collector_url(fqdn: str, collector: str = "new", source: str = "new") -> str:
    """Collector FQDN -> one Server= value for a new source-initiated subscription that works whichever form
    existing subscriptions use: the Server=<FQDN> table's value when the Server=http://<FQDN> table accepts it,
    else that table's (both answers come from ``source_initiated``)."""
    try:
        by_fqdn = source_initiated(fqdn, collector, source, existing="fqdn")
        by_http = source_initiated(fqdn, collector, source, existing="http")
    except AnsibleFilterError as error:
        raise AnsibleFilterError(str(error).replace("wsman.winrm.source_initiated", "wsman.winrm.collector_url")) from None
    for server in (by_fqdn["server"], by_http["server"]):
        if _works_for_new(by_fqdn, server) and _works_for_new(by_http, server):
            return server
    raise AnsibleFilterError("wsman.winrm.collector_url: the article's two source-initiated tables have no common "
                             "Server= value for collector %s, source %s; use wsman.winrm.source_initiated with the "
                             "form your subscriptions use" % (collector, source))


class FilterModule:
    """wsman.winrm event-forwarding filters."""

    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"collector_initiated": collector_initiated, "source_initiated": source_initiated,
                "collector_url": collector_url}
