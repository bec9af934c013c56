"""Fault drills (``make chaos``): a production-mode server, its worker and private MariaDB and Redis,
under a bounded write, read and subscription load while faults are injected one after another; the
database then says whether any acknowledged write was lost or doubled, and the subscriber whether
it missed an event across its reconnections."""
