"""Evaluation: the case schema, metrics, the conversation-playing runner and its reports."""
