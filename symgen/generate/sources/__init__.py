"""Where questions come from: the LLM (gen-q), paraphrases of verified pairs, SQL programs, shell history."""
