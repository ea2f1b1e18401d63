"""Loopback fakes of the vendors (Greenhouse, Lever, Twilio, TextUs, SendGrid, Cronofy) for tests
and demos.

The package is self-contained (standard library plus werkzeug and cryptography) and imports
nothing from the product.  Each vendor is a package split along its seams (contract, state and
its parts, API versions, webhooks, control API, screens, app) whose ``__init__`` re-exports its
public names.  Start every fake with :class:`integrations.sandbox.server.SandboxServer`.
"""

from integrations.sandbox.atsdata import Company, generate_company

__all__ = ["Company", "generate_company"]
