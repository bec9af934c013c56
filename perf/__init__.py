"""Benchmarks, budgets and load scenarios. Never imported by runtime code."""
