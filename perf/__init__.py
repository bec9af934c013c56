"""Benchmarks, budgets and load scenarios. Never imported by runtime code.

One package a bench (bench, load, attack, subscriptions, jobs), each over perf.shared, none importing another.
"""
