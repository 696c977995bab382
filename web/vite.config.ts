import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

// Swagger UI for /api/docs, served from the package's own static files (never a CDN):
// its bundle and stylesheet from swagger-ui-dist, plus the page's start-up script.
function apiDocsAssets(): Plugin {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve("swagger-ui-dist/package.json"));
  const files: Record<string, string> = {
    "swagger-ui-bundle.js": join(dist, "swagger-ui-bundle.js"),
    "swagger-ui.css": join(dist, "swagger-ui.css"),
    "favicon-32x32.png": join(dist, "favicon-32x32.png"),
    "init.js": fileURLToPath(new URL("api-docs/init.js", import.meta.url)),
  };
  return {
    name: "api-docs-assets",
    apply: "build",
    generateBundle() {
      for (const [name, path] of Object.entries(files)) {
        this.emitFile({ type: "asset", fileName: `api-docs/${name}`, source: readFileSync(path) });
      }
    },
  };
}

// Built into the Python package so `pip install` serves the UI without Node.
export default defineConfig({
  plugins: [react(), apiDocsAssets()],
  build: {
    outDir: "../src/myagent/trace/viewer/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
