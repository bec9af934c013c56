// Where the API is: `make run` serves it on 127.0.0.1:8000. Vite replaces import.meta.env at build time.
const env = (import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env ?? {};

export const HTTP_URL = env.VITE_TASKQL_URL ?? "http://127.0.0.1:8000/graphql";
export const WS_URL = HTTP_URL.replace(/^http/, "ws");
