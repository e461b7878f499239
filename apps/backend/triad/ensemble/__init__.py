"""The ensemble: LLMEnsemble, the grounded critic and the role configuration."""
