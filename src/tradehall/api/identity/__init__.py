"""Identity over HTTP: sign-in sessions and account e-mails, and their schemas in schemas/."""
