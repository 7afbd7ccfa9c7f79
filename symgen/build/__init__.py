"""`symgen build`: the stages of the measured recipe, run in one budgeted, resumable command."""
