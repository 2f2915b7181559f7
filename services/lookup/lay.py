"""Plain-language descriptions of official titles (placeholder while the lexicon is written)."""


def describe(title: str, system: str) -> str:
    return title
