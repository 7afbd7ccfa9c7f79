"""Stage 5, torch only: the task model's architectures, tokenizer, training data and loop."""
