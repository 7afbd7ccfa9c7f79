"""One module per `symgen lab` verb, each `add_parser` + `run` like the core verbs."""
