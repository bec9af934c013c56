"""Tasks and what hangs off them (comments, attachments, activity, labels on a task): types, inputs,
the columns a selection reads, and the mutations.

May import projects and users (their types refer to one another), the guard and core. Data comes
through resolvers/ as records, never from persistence's models or queries."""
