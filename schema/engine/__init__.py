"""How a validated operation runs: one entry point for HTTP and WebSocket; the engine is chosen per operation.

May import the domain packages, the guard and core (and persistence's infrastructure); never an edge or
the composition root. Data comes through resolvers/, never from persistence's models or queries."""
