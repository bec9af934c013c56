"""The WebSocket edge: graphql-transport-ws and graphql-ws on /graphql, and the execution subscriptions use.

May import the guard and core; never the composition root."""
