"""Members and their credentials: sign-up and sign-in (members, passwords) and API tokens."""
