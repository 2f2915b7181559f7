"""The lookup service: the catalog of code systems, search, crosswalks and pair checks."""
