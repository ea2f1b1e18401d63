// The parts of Tiptap the Library's e-mail editor uses, exposed as one global (`window.Tiptap`)
// for static/js/library_editor.js. Rebuild with scripts/build_editor.sh.
export { Editor, Node, mergeAttributes, nodeInputRule } from "@tiptap/core";
export { StarterKit } from "@tiptap/starter-kit";
