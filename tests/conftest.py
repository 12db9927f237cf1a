"""Make ``ansible_collections.wsman.winrm`` and ``winrm_sim`` importable for pytest.

The collection is exposed through a symlinked collections root under ``.cache/`` (Python's
import system follows symlinks; only ansible-test needs a real copy, see the Makefile).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "wsman", "winrm")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:
        pass

for path in (COLLECTIONS, os.path.join(ROOT, "tests", "simulator")):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)

# Ansible's collection loader must own the ``ansible_collections`` package before any test imports
# from it; otherwise the plugin loader cannot load this collection's plugins later in the run.
from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader([COLLECTIONS])
