"""Analytics: a team's incident figures over the last days, and their change."""
