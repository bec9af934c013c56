"""The WebSocket edge: graphql-transport-ws and graphql-ws on /graphql, their operations run through the
engine's entry point.

May import the engine, the guard and core; never the composition root."""
