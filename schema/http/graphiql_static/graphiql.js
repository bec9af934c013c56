// GraphiQL on this server's /graphql: React, GraphiQL and the explorer plugin are loaded before this
// script from /graphiql/ on the same server (schema/http/graphiql_assets.py), never from a CDN.
(function () {
  "use strict";

  var url = window.location.origin + "/graphql";
  var subscriptionUrl = url.replace(/^http/, "ws");

  // The token, when the address carries one (/graphql#token=...): taken into the headers, then
  // dropped from the address so it is not left in the history.
  var fromFragment = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (fromFragment) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  var defaultHeaders = JSON.stringify({ Authorization: "Bearer " + (fromFragment || "") }, null, 2);

  // "Bearer " with no token yet is not sent: the anonymous operations (authLogin) run before one is
  // pasted, instead of failing on an empty token.
  function withoutBlankToken(headers) {
    var kept = {};
    Object.keys(headers || {}).forEach(function (name) {
      var blank = name.toLowerCase() === "authorization" && /^\s*bearer\s*$/i.test(String(headers[name]));
      if (!blank) {
        kept[name] = headers[name];
      }
    });
    return kept;
  }

  var fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: subscriptionUrl,
    fetch: function (input, init) {
      return window.fetch(input, Object.assign({}, init, { headers: withoutBlankToken(init && init.headers) }));
    },
  });

  var defaultQuery = [
    "# taskql's GraphiQL. Run Login (the play button, or Ctrl-Enter), paste its accessToken after",
    '# "Bearer " in Headers below, then run Me. Subscriptions send the same header in connection_init.',
    "",
    "mutation Login {",
    '  authLogin(input: {email: "demo@taskql.dev", password: "demo-password"}) {',
    "    accessToken",
    "  }",
    "}",
    "",
    "query Me {",
    "  viewer {",
    "    user { name email }",
    "    organization { name }",
    "  }",
    "}",
    "",
  ].join("\n");

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      headers: fromFragment ? defaultHeaders : undefined,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    })
  );
})();
