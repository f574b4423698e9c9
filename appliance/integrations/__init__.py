"""Ways the box shares its records: webhooks and CSV export (JSON API: web/api_records.py)."""
