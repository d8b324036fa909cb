"""Errors that front ends turn into one clear line and exit code 2."""


class PromptlintError(Exception):
    """A usage, configuration or input problem the user can fix; never a bug."""


class ConfigError(PromptlintError):
    pass


class InputError(PromptlintError):
    pass


class RuleCatalogError(PromptlintError):
    pass


class LintTimeout(Exception):
    """A lint ran past the deadline its caller gave (the hook, the LSP): the work was abandoned."""
