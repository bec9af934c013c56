// Apollo Client for taskql: queries and mutations over HTTP as automatic persisted queries (the hash
// first, the text only when the server asks for it, hashed queries as GET), subscriptions over
// graphql-ws with the token in `connection_init`, and one token refresh on 401 / UNAUTHENTICATED.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, Observable, split } from "@apollo/client";
import type { FetchResult, Operation } from "@apollo/client";
import { setContext } from "@apollo/client/link/context";
import { onError } from "@apollo/client/link/error";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";

import { HTTP_URL, WS_URL } from "./config";
import { accessToken, freshAccessToken, refresh } from "./session";

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const withToken = setContext((_, { headers }) => {
  const token = accessToken();
  return { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } };
});

// The server answers a missing, bad or expired token with HTTP 401 and the code UNAUTHENTICATED.
function unauthenticated(error: Parameters<Parameters<typeof onError>[0]>[0]): boolean {
  const status = (error.networkError as { statusCode?: number } | null)?.statusCode;
  const codes = (error.graphQLErrors ?? []).map((e) => e.extensions?.["code"]);
  return status === 401 || codes.includes("UNAUTHENTICATED");
}

// Retry once with refreshed tokens; a second refusal (or a failed refresh) reaches the caller.
const refreshOnUnauthenticated = onError((error) => {
  const { operation, forward } = error;
  if (!unauthenticated(error) || operation.getContext()["retried"]) return;
  return new Observable<FetchResult>((observer) => {
    refresh()
      .then((tokens) => {
        operation.setContext(({ headers }: { headers?: Record<string, string> }) => ({
          retried: true,
          headers: { ...headers, authorization: `Bearer ${tokens.accessToken}` },
        }));
        forward(operation).subscribe(observer);
      })
      .catch((reason: unknown) => observer.error(reason));
  });
});

const http = ApolloLink.from([
  createPersistedQueryLink({ sha256, useGETForHashedQueries: true }),
  new HttpLink({ uri: HTTP_URL }),
]);

// connectionParams runs for every (re)connection, so a reconnect after the 15 minutes sends a fresh
// token; the server closes a socket whose token ended with 4401, and the client reconnects.
const ws = new GraphQLWsLink(
  createClient({
    url: WS_URL,
    connectionParams: async () => {
      const token = await freshAccessToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: Infinity,
    shouldRetry: () => true,
  }),
);

function isSubscription({ query }: Operation): boolean {
  const definition = getMainDefinition(query);
  return definition.kind === "OperationDefinition" && definition.operation === "subscription";
}

export const client = new ApolloClient({
  link: split(isSubscription, ws, ApolloLink.from([refreshOnUnauthenticated, withToken, http])),
  cache: new InMemoryCache(),
});
