#!/usr/bin/env bash
# Rebuilds the Library's rich-text e-mail editor (Tiptap) into static/vendor/tiptap/: one
# minified file that sets window.Tiptap, and LICENSE.md with the licence of every package in it.
# Needs node and npm (CI and `make run` use the committed bundle, never npm). Versions are pinned
# in scripts/editor/package.json and package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/editor"
npm ci --no-audit --no-fund
out=../../static/vendor/tiptap
mkdir -p "$out"
node_modules/.bin/esbuild src/index.js --bundle --minify --format=iife --global-name=Tiptap \
  --target=es2019 --legal-comments=none --metafile=node_modules/.meta.json \
  --outfile="$out/tiptap.min.js"
node licenses.mjs node_modules/.meta.json "$out/LICENSE.md"
