"""`make bench-writes`: the server's CPU per taskUpdate, sent one after the other at a steady rate.

May import perf.shared and the application; no other bench package."""
