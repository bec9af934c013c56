"""`make bench-cpu`: CPU per request of the load mix's reads, the server's and MariaDB's, on both engines.

May import perf.shared and the application; no other bench package."""
