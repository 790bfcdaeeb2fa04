"""Errors meant for the user: one line naming the file/record/address and the reason."""


class UserError(Exception):
    """Printed as one line by the CLI, which then exits with `exit_code` (non-zero)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
