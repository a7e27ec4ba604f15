"""Optional TOTP two-factor log-in (django-otp): set-up, the verify step after the password, and its gate."""
