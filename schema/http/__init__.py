"""The HTTP edge: the GraphQL endpoint (view), reading requests off the wire, multipart uploads, downloads,
health, /metrics, /ops, and the middleware around every route.

May import the engine, the guard, core and the domain packages' types; never the composition root
(app, build)."""
