"""Projects, their members and labels: the types and the project mutations.

May import users and tasks (their types refer to one another), the guard and core. Data comes
through resolvers/ as records, never from persistence's models or queries."""
