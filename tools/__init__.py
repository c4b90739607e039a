"""Developer scripts run from a checkout: code generation and the ER diagram."""
