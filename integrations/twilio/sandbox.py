"""The sandbox Twilio's public account (``integrations/sandbox/twilio.py`` serves it): what the
demo texts through and what "Use the sandbox" fills in."""

SANDBOX_ACCOUNT_SID = "ACsandbox00000000000000000000000000"
SANDBOX_AUTH_TOKEN = "sandbox-auth-token"
SANDBOX_SERVICE_SID = "MGsandbox00000000000000000000000000"
