"""`make bench-attack`: a normal load alone, then beside attackers; operations/ holds their documents.

May import perf.shared and the application; no other bench package."""
