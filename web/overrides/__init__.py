"""Every override of Litestar or uvicorn internals, each with a canary test
(tests/unit/test_overrides.py)."""
