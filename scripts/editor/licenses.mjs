// Writes the licence of every package the bundle holds (read from esbuild's metafile) into one
// file beside the bundle: node licenses.mjs <metafile> <output>.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const [metafile, output] = process.argv.slice(2);
const inputs = Object.keys(JSON.parse(readFileSync(metafile, "utf8")).inputs);
const packages = new Set();
for (const input of inputs) {
  const match = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  if (match) packages.add(match[1]);
}
const sections = [];
for (const dir of [...packages].sort()) {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
  const text = file ? readFileSync(join(dir, file), "utf8").trim() : `License: ${manifest.license}`;
  sections.push(`## ${manifest.name} ${manifest.version} (${manifest.license})\n\n${text}\n`);
}
writeFileSync(
  output,
  "# Licences of the packages in tiptap.min.js\n\n" +
    "Bundled by scripts/build_editor.sh from scripts/editor/package.json.\n\n" +
    sections.join("\n")
);
console.log(`${packages.size} packages: ${dirname(output)}`);
