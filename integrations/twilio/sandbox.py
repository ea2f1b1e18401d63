"""The sandbox Twilio's public account (``integrations/sandbox/twilio.py`` serves it): what the
demo texts through and what "Use the sandbox" fills in."""

SANDBOX_ACCOUNT_SID = "ACsandbox00000000000000000000000000"
SANDBOX_AUTH_TOKEN = "sandbox-auth-token"
SANDBOX_SERVICE_SID = "MGsandbox00000000000000000000000000"
SANDBOX_SERVICE_NUMBER = "+15005550100"  # the sandbox Messaging Service's number
# Its phone screens, under the sandbox's address: every number that got texts, and one number's
# texts with a form to answer as the candidate (``<PHONES_PATH>phone/<number>``).
PHONES_PATH = "/twilio/_sandbox/"
