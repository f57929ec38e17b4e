"""A member's profile pictures, for the /profile forms, the JSON API and the CLI alike.

access: who may act for whom, and the audit of refusals · changes: upload, re-crop, restore,
delete (one change, one transaction, told to the session's subscribers after its commit:
web/services/commits.py) · reads: the state, history and sync answers · names: the files' names
and URLs · storage: the files · lock: one change per member at a time · idempotency: a retried
upload gets its first answer · retention and media_check: purge, sweep and the operator's check
of the files.
"""
