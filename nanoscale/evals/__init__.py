"""Evaluation: the case schema, metrics, the conversation-playing runner and its reports, and the
groundedness judge checked against hand labels (judge_pairs, llm_judge, judge_calibration)."""
