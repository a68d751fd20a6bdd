import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into web/dist; `mentorpay demo` serves it next to the API (same origin).
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/app-config.json": "http://127.0.0.1:8000" } },
});
