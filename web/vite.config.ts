import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built into the Python package so `pip install` serves the UI without Node.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/myagent/trace/viewer/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
