"""Routing of generic completions: which models, in which order, for a task and priority."""
