"""Background jobs on RQ (queues, enqueue helpers, job bodies, worker); the layer sits beside loaders."""
