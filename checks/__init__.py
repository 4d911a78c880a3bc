"""Checks that the nox sessions run across backends: numerical agreement
(`python -m checks.agreement`) and model portability (`python -m checks.portability`)."""
