"""What platform operators see and do: the opsMetrics types and trusted document registration.

May import the guard (registration checks a document's cost) and core."""
