"""`python -m perf.jobs` (`make bench-jobs`): see perf/jobs/run.py."""

from perf.jobs.run import main

main()
