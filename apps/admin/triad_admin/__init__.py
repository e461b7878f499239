"""The staff and admin console (server-rendered); a placeholder until the console issue lands."""
