"""Loopback fakes of the Greenhouse Harvest and Lever APIs for tests and demos.

The package is self-contained (standard library plus werkzeug) and imports nothing
from the product.  Start both fakes with :class:`integrations.sandbox.server.SandboxServer`.
"""

from integrations.sandbox.atsdata import Company, generate_company

__all__ = ["Company", "generate_company"]
