"""The Bash task: requests → one-line commands, checked by tree-sitter and agreement (augmentation, command lists, shell history, literal placeholders)."""
