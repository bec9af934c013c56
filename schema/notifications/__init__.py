"""Notifications: the type shared by `viewer.notifications` and `notificationAdded`, and marking read.

May import tasks, users and core."""
