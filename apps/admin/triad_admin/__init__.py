"""The staff and admin console and the customer chat page: server-rendered HTML pages."""
