"""Stage 2, LLM candidates: the generator protocol and its adapters (llama.cpp, OpenAI-compatible servers) and the model registry."""
