"""SymGen: generate execution-verified data for symbolic languages with a local LLM, distil it.

Data flows seeds → prompt → generate → verify → dataset → train → export → engine → server.
"""

__version__ = "0.1.0"
