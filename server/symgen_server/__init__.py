"""SymGen language server: natural-language comments become SQL (or code) completions.

Torch-free by design: it imports only the inference side of `symgen` (onnxruntime, tokenizers,
numpy, sqlglot), so an editor install stays light.
"""

__version__ = "0.1.0"
