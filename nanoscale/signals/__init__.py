"""Pure detection of what a conversation lacks (region, logs, endpoint...) before answering."""
