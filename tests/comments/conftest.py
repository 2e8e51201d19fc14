# The registered users alice, bob and carol, as fixtures.
from ..helpers import alice, bob, carol  # noqa: F401
