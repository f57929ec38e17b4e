"""What the JSON API's handlers (web/routes/api.py) share: bodies (the seed's camelCase shapes,
made from the services' plain data), common (the Bearer guard, strict JSON, the OpenAPI set-up)
and errors (how the OpenAPI document describes its problem details; web/errors.py answers
them)."""
