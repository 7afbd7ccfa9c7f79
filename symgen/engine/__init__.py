"""Stage 7, torch-free (onnxruntime + tokenizers + numpy): loads an exported model and decodes completions for the CLI and the editor server."""
