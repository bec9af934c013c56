from perf.chaos.run import main

main()
