import { defineConfig } from "vite";

// The dev server (http://localhost:5173) talks to the API directly: `make run` allows local dev-server
// origins. VITE_TASKQL_URL points it elsewhere.
export default defineConfig({ server: { port: 5173, strictPort: true } });
