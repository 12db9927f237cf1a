"""The WS-Management protocol layer: requests parsed, routed to resources, answered as Windows does.

``dispatch.handle_request`` is the entry point; ``dispatch.ROUTES`` maps resource URIs to the
resource classes in ``resources/``, which call the models; ``faults`` is the catalog of Windows'
faults (wsmerror.h codes and texts).
"""
