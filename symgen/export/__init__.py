"""Stage 6: a trained model to ONNX (the lean graph or optimum's), int8, parity check, manifest."""
