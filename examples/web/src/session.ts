// The signed-in session: the access token (15 minutes) and the single-use refresh token. A refresh
// retires the old refresh token and presenting a retired one revokes the session, so concurrent
// requests that all meet an expired token must share ONE refresh, never send one each.
import { print } from "graphql";

import { HTTP_URL } from "./config";
import type { RefreshMutation } from "./gql/graphql";
import { REFRESH } from "./operations";

export interface Tokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
}

const STORAGE_KEY = "taskql.tokens";
// Refresh this long before the access token's expiry, so a request never leaves with a dying token.
const EARLY_MS = 30_000;

let tokens: Tokens | null = load();
let refreshing: Promise<Tokens> | null = null;

function load(): Tokens | null {
  const stored = globalThis.sessionStorage?.getItem(STORAGE_KEY);
  return stored ? (JSON.parse(stored) as Tokens) : null;
}

export function signIn(next: Tokens): void {
  tokens = next;
  globalThis.sessionStorage?.setItem(STORAGE_KEY, JSON.stringify(next));
}

export function signOut(): void {
  tokens = null;
  globalThis.sessionStorage?.removeItem(STORAGE_KEY);
}

export function accessToken(): string | null {
  return tokens?.accessToken ?? null;
}

/** The access token, refreshed first when it is about to expire (what a new WebSocket sends). */
export async function freshAccessToken(): Promise<string | null> {
  if (tokens === null) return null;
  if (Date.parse(tokens.accessTokenExpiresAt) - Date.now() > EARLY_MS) return tokens.accessToken;
  return (await refresh()).accessToken;
}

/** New tokens from `authRefresh`; callers that arrive while one is under way wait for it. */
export function refresh(): Promise<Tokens> {
  refreshing ??= exchange().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function exchange(): Promise<Tokens> {
  const refreshToken = tokens?.refreshToken;
  if (!refreshToken) throw new Error("not signed in");
  // A plain fetch, outside Apollo's link chain: the refresh must not itself go through the retry.
  const response = await fetch(HTTP_URL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: print(REFRESH), variables: { input: { refreshToken } } }),
  });
  const body = (await response.json()) as { data?: RefreshMutation | null; errors?: unknown[] };
  if (!body.data?.authRefresh) {
    signOut(); // the session is gone (revoked, expired or replayed): sign in again
    throw new Error("session ended");
  }
  signIn(body.data.authRefresh);
  return body.data.authRefresh;
}
