"""The root of every error that means "the input was wrong", not "robolearn has a bug".

Each such error says what was wrong and what to do; the command line prints it as one line
and exits with status 2, while any other exception keeps its traceback.
"""


class UserError(Exception):
    """Bad input: a flag, a file, a skill, a plan or a bundle that cannot be used."""


class ConfigError(UserError, ValueError):
    """A setting out of its range; it names the field, so a command line can name its flag.

    ``template`` is the message with ``{}`` where the field's name goes ("{} must be at least
    1, got 0"), or a message that needs no name.
    """

    def __init__(self, field: str, template: str) -> None:
        self.field = field
        self.template = template
        super().__init__(self.named(field))

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.field, self.template)

    def named(self, name: str) -> str:
        """The message with the field called ``name`` (``--max-regression``)."""
        return self.template.replace("{}", name)
