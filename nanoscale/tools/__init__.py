"""Read-only tools: the checks the tools node may run, declared in `registry`, and `redact`.

Only executable, allowlisted checks live here (boto3, one HTTP probe, local log files); what a
conversation lacks is detected in `nanoscale.signals`. A new check is a function in a module
here plus one `Check` entry in `registry.CHECKS`.
"""
