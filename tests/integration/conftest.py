"""Fixtures of the integration tests; the helpers live in harness.py. Test files import
``harness``, a unique module name: ``conftest`` may resolve to another folder's conftest when
pytest collects several folders at once."""

from harness import *  # noqa: F401,F403 (fixtures and helpers, for pytest and older imports)
from harness import fleet  # noqa: F401
