import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is served by the api role at `/`; in development `vite` proxies the API to it.
const api = process.env.AQUAML_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  // The budget that matters is the first page's, checked by scripts/build-web.mjs.
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/health', '/metrics', '/docs'].map((path) => [path, { target: api }]),
    ),
  },
});
