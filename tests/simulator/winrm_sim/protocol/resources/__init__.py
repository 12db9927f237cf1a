"""One module per family of WS-Management resources; each maps operations onto the models.

A resource class gets the host, the parsed request and the principal, declares the access each of
its operations needs (``access``), and implements the operations it supports as methods named after
them (``get``, ``put``, ``create``, ``delete``, ``enumerate``, or ``invoke`` for custom actions).
``protocol.dispatch.ROUTES`` maps resource URIs to these classes.
"""
from __future__ import annotations

from .. import ns
from ..faults import WSManFault
from ..soap import envelope

OPERATIONS = {ns.A_GET: "get", ns.A_PUT: "put", ns.A_CREATE: "create", ns.A_DELETE: "delete",
              ns.A_ENUMERATE: "enumerate"}
READ_OPERATIONS = ("get", "enumerate")


class Resource:
    envelope_kind = "transfer"

    def __init__(self, host, request, principal):
        self.host, self.request, self.principal = host, request, principal

    def access(self, operation: str) -> str:
        """The right an operation needs: read, write or execute."""
        return "read" if operation in READ_OPERATIONS else "write"

    def security_descriptor(self) -> str | None:
        """The SDDL that authorizes this request: its plugin's, or None for RootSDDL (MS-WSMV 3.1.4.1.28)."""
        return None

    def handle(self, operation: str) -> bytes:
        handler = getattr(self, operation, None)
        if handler is None:
            raise WSManFault("ACTION_NOT_SUPPORTED")
        return handler()

    def reply(self, action: str, body: str, kind: str | None = None, extra_ns: str = "") -> bytes:
        return envelope(action, self.request.message_id, body, kind=kind or self.envelope_kind, extra_ns=extra_ns)
