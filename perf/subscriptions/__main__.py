"""`python -m perf.subscriptions` (`make bench-subscriptions`): see perf/subscriptions/run.py."""

from perf.subscriptions.run import main

main()
