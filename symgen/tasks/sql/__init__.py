"""The SQL task: the only package that knows SQL (knowledge and prompts, grammar programs, smells, number grounding, schema checks, value-swap augmentation, model input)."""
