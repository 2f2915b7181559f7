"""The assistant: grounded answers to coding questions, composed from what the lookup service says."""
