"""Project reports: the Report type, reportRequest and the report reads.

May import projects, users and core."""
