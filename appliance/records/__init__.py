"""The call records and what leaves the box from them.

store/: schema, migrations, the daemon's writer and everyone's readers; privacy: who sees which number
and for how long; webhooks: the outbox; csv_export. (The JSON API is web/api_records.py.)
"""
