"""What the hot reads keep in memory: a member's avatar and which picture files are live
(reads.py), and handles to ids for the stable avatar URL (handles.py), both bounded the same way
(recent.py)."""
