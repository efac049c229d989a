"""The account's lifecycle (P-9, P-10): termination with notice or for an unremedied
breach, deletion after 24 months of inactivity, and the export bundle a terminated
account's administrators download until the purge."""
