"""`make bench-jobs`: jobs end to end through real workers into local HTTP and SMTP sinks.

May import perf.shared and the application (`jobs` is the top-level one); no other bench package."""
