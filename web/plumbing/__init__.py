"""Small pieces of HTTP plumbing the app factory wires in: headers, limits, CSRF, sessions
storage, the client address, logs."""
