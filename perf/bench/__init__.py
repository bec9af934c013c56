"""`make bench`: GraphQL against hand-written raw SQL endpoints, side by side, on MariaDB.

May import perf.shared and the application; no other bench package."""
