"""`make bench-subscriptions`: WebSocket subscribers on two server processes under a steady writer.

May import perf.shared and the application; no other bench package."""
