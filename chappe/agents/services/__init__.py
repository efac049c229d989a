"""Writes of the agents app: setting up (`setup`), licences (`licences`), states and the
queue event log (`states`)."""
