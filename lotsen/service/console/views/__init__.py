"""View models of the console: what each page shows, read from the World (no HTTP here)."""
