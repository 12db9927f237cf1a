"""One model per Windows component of a simulated host.

Each model owns one section of the host's state (persisted by ``host.SimHost``) and is the only code
that changes it; the protocol layer (``winrm_sim.protocol``) maps WS-Management requests onto the
models' methods and never touches the state itself. ``tests/simulator/README.md`` says which model a
new Windows behaviour belongs to.
"""
