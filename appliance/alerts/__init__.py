"""Alerts: the box's events told to people by SMS and e-mail, by the admin's [[alerts]] rules (docs/alerts.md)."""
