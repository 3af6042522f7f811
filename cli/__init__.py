"""The operator CLI (`autopilot`): the HTTP API from a terminal, the same against Azure and locally."""
