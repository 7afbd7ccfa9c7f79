"""Stages 1-4 wired together: question sources → prompt → LLM candidates → verifier → dataset, resumable and budgeted."""
