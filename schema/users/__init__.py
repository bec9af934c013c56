"""Users, organizations and push devices: their types, and the mutations on them.

May import projects and tasks (their types refer to one another), the guard and core. Data comes
through resolvers/ as records, never from persistence's models or queries."""
