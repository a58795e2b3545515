// The library's one external dependency, imported by its full specifier: users who import mod.ts from a URL
// (deno.land/x) do not get this project's import map, so a bare "fflate" would not resolve for them. The
// version is the one deno.json maps "fflate" to, so tools and tests compress with the same code. The browser
// build, also in Deno: fflate's Node build loads worker_threads at import, and with it Deno's Node
// compatibility layer, about 6 MB of resident memory that nothing here uses.
export { zlibSync } from "npm:fflate@0.8.3/browser";
