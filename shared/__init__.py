"""Code every service imports: settings, database, models, auth, errors and the HTTP client."""
