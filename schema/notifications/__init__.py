"""Notifications: the type shared by `viewer.notifications` and `notificationAdded`, and marking read.

May import tasks, projects, users, the guard and core. Data comes through resolvers/ as records,
never from persistence's models or queries."""
