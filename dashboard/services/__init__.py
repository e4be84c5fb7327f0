"""Services of the dashboard that write state users change (quarantine)."""
