"""Project reports: the Report type, reportRequest and the report reads.

May import tasks, projects, users, the guard and core. Data comes through resolvers/ as records,
never from persistence's models or queries."""
