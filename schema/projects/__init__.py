"""Projects, their members and labels: the types and the project mutations.

May import users and core."""
