"""The repositories: one per domain, the business operations, each in one transaction."""
