"""One module per symbolic language: the only place a language's specifics live."""
