"""What the system remembers: checkpoints, incident memory, the audit log."""
