#!/usr/bin/env bash
# The system libraries WeasyPrint (the PDF transcripts) loads at run time: Pango with its
# FreeType backend, HarfBuzz's subsetter and at least one font. WeasyPrint's documentation lists
# these Debian packages for installing it from wheels in a virtualenv. Installed with apt-get
# when we are root and they are missing; otherwise the command to run is printed and we stop,
# because the product cannot start without them.
set -euo pipefail

PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)

missing() {
  local lib
  for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0; do
    ldconfig -p 2>/dev/null | grep -q "$lib" || return 0
  done
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list 2>/dev/null | head -n1)" ] || return 0
  return 1
}

if ! missing; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installing Pango, HarfBuzz and a font for WeasyPrint (PDF transcripts)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" >/dev/null
  exit 0
fi

cat >&2 <<EOF
RecruitFlow renders PDF transcripts with WeasyPrint, which needs Pango, HarfBuzz and a font.
They are missing on this machine. On Debian or Ubuntu install them with:

    sudo apt-get install -y ${PACKAGES[*]}

(other systems: https://doc.courtbouillon.org/weasyprint/stable/first_steps.html)
EOF
exit 1
