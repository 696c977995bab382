import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
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

// Precompressed copies (.br and .gz) of every text asset next to it, so the viewer
// serves them without compressing per request (routes/meta.py picks one by
// Accept-Encoding). Node's own zlib: no extra dependency.
function precompress(): Plugin {
  const text = /\.(js|css|html|svg|json|map)$/;
  let outDir = "";
  return {
    name: "precompress",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const path = join(dir, name);
          return statSync(path).isDirectory() ? walk(path) : [path];
        });
      for (const path of walk(outDir)) {
        if (!text.test(path)) continue;
        const data = readFileSync(path);
        if (data.length < 1024) continue;
        writeFileSync(`${path}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
      }
    },
  };
}

// Built into the Python package so `pip install` serves the UI without Node.
export default defineConfig({
  plugins: [react(), apiDocsAssets(), precompress()],
  build: {
    outDir: "../src/myagent/trace/viewer/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
