"""The report of a demo load: what was loaded and how to sign in to see it."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "devflowfix-demo"  # noqa: S105 - printed for the user on purpose
DEMO_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What a demo load did, and how to sign in to see it."""

    email: str
    team: str
    user_team: str
    user_created: bool
    incidents_loaded: int
    seconds: float
    skipped: bool
    url: str = DEMO_URL
    password: str = DEMO_PASSWORD

    def describe(self) -> str:
        """The text that tells the user what was loaded and how to sign in."""
        return "\n".join((self._summary(), "", *self._sign_in()))

    def _summary(self) -> str:
        if self.skipped:
            return (
                "The database already holds incidents, so no demo incidents were "
                f"loaded ({self.seconds:.1f} s)."
            )
        return (
            f"Loaded {self.incidents_loaded:,} demo incidents into team "
            f"'{self.team}' in {self.seconds:.1f} s."
        )

    def _sign_in(self) -> list[str]:
        password = self.password
        if not self.user_created:
            password += " (unless it was changed: the user already existed)"

        lines = [
            f"Open {self.url} and sign in:",
            f"  email:    {self.email}",
            f"  password: {password}",
            "",
            "Or get an API token:",
            f"  curl -s -X POST {self.url}/api/v1/auth/token \\",
            f"    --data-urlencode 'username={self.email}' \\",
            f"    --data-urlencode 'password={self.password}'",
            f"or: devflowfix token {self.email}",
        ]

        if self.user_team != self.team:
            lines.append(
                f"Note: {self.email} belongs to team '{self.user_team}' and does not "
                f"see team '{self.team}'."
            )

        return lines
