"""Fixtures of the integration tests; the helpers live in harness.py. Test files import
``harness``, a unique module name: ``conftest`` may resolve to another folder's conftest when
pytest collects several folders at once."""

# The fleet fixture, imported for pytest to find.
from harness import fleet  # noqa: F401  # pylint: disable=unused-import
