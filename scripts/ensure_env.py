"""Write a local .env on first use: .env.example plus generated secrets. Never overwrites."""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

root = Path(__file__).resolve().parent.parent
target = root / ".env"
if target.exists():
    sys.exit(0)
lines = []
for line in (root / ".env.example").read_text().splitlines():
    if line.startswith("SECRET_KEY="):
        line = f"SECRET_KEY={secrets.token_urlsafe(50)}"
    elif line.startswith("FIELD_ENCRYPTION_KEYS="):
        line = f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}"
    lines.append(line)
target.write_text("\n".join(lines) + "\n")
print("Wrote .env with a new SECRET_KEY and FIELD_ENCRYPTION_KEYS (keep it out of git).")
