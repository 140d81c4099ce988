"""The root of every error that means "the input was wrong", not "robolearn has a bug".

Each such error says what was wrong and what to do; the command line prints it as one line
and exits with status 2, while any other exception keeps its traceback.
"""


class UserError(Exception):
    """Bad input: a flag, a file, a skill, a plan or a bundle that cannot be used."""
