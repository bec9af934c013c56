"""`make load`: the load scenarios under Locust against the production app, and their SLO report.

May import perf.shared and the application; no other bench package. Locust loads locustfile.py: it and
what it imports (operations, plan, samples, scenarios) stay clear of the application (an import contract)."""
