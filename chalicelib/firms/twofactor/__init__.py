"""Two-factor sign-in (TOTP): enrolment, the login's second step, recovery codes, turning it off."""
