"""`python -m perf.attack` (`make bench-attack`): see perf/attack/run.py."""

from perf.attack.run import main

main()
