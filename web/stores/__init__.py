"""Litestar stores of our own: sessions in the database, rate limits that survive a Redis outage."""
